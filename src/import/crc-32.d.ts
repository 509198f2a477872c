// crc-32 ships types for its CRC-32 entry only; its CRC-32C entry has the same API. It is a CommonJS
// module whose exports Node's ESM loader cannot list, so it is imported as a default (the module
// object), never by named imports.
declare module 'crc-32/crc32c.js' {
  const CRC32C: {
    /** The CRC-32C (Castagnoli) of the bytes, as a signed 32-bit integer. */
    buf(data: number[] | Uint8Array, seed?: number): number;
  };
  export default CRC32C;
}
