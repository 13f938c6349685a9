/** Plaintext approximation library: fits, Remez / minimax composite sign, AppReLU, AppMax, evaluation paths. */
export * from './polynomial.js';
export * from './chebyshev.js';
export * from './linalg.js';
export * from './functions.js';
export * from './fits.js';
export * from './remez.js';
export * from './minimax-sign.js';
export * from './elementwise.js';
export * from './sign-eval.js';
export * from './app-relu.js';
export * from './app-max.js';
export * from './float32.js';
export * from './alpha-table.js';
export * from './truncation-sign.js';
