// Wire codes of frame encodings (framing.ts writes them; compression.ts produces them).

/** A frame as it is. */
export const CODEC_RAW = 0;
/** A frame deflated with fflate (raw deflate). */
export const CODEC_DEFLATE = 1;
