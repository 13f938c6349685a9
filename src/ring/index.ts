/** Ring Z_2^64: fixed-point encoding, tensors, fast kernels, PRG. */
export * from './tensor.js';
export * from './fixed.js';
export * from './elementwise.js';
export * from './matmul.js';
export * from './conv.js';
export * from './channel.js';
export * from './prg.js';
export { wasmMemoryBytes } from './wasm/kernels.js';
export * from './beaver-fused.js';
export * from './field.js';
