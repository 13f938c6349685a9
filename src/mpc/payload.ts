/** Received payloads as ring elements. */

/** View a received payload as `expected` ring elements (the mesh delivers 8-byte aligned payloads); `what` names it in the error. */
export function ringView(payload: Uint8Array | null, expected: number, what: string): BigUint64Array {
  const n = payload ? payload.byteLength / 8 : 0;
  if (!payload || n !== expected) throw new Error(`${what}: expected ${expected} ring elements, got ${payload ? payload.byteLength : 0} bytes`);
  return new BigUint64Array(payload.buffer, payload.byteOffset, n);
}
