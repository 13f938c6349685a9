/** PANN evaluation in plaintext: approximation layers, the model transformer, the evaluator. */
export * from './layers.js';
export * from './range-counter.js';
export * from './tf-ops.js';
export * from './transform.js';
export * from './evaluate.js';
