// Small value classes that have a meaning of their own on the wire.

/** Stands for the result of another task inside task arguments; the worker substitutes the value. */
export class TaskRef {
  constructor(readonly key: string) {}
}

/**
 * A value already encoded for the wire: msgpack bytes plus raw frames. Dask's `Serialized`.
 * The scheduler passes task arguments along in this form without decoding them.
 */
export class Serialized {
  constructor(
    readonly header: Uint8Array,
    readonly frames: Uint8Array[],
  ) {}

  /** Bytes on the wire (header plus frames). */
  get nbytes(): number {
    let n = this.header.byteLength;
    for (const f of this.frames) n += f.byteLength;
    return n;
  }
}
