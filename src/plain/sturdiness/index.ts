export * from './grid.js';
export * from './cell.js';
export * from './run.js';
