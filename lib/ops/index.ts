// Every op, one namespace. Tensor methods and the public API delegate here.
export * from './creation.js';
export * from './elementwise.js';
export * from './reduce.js';
export * from './shape.js';
export * from './matmul.js';
export * from './conv.js';
export * from './nn.js';
export * from './loss.js';
export * from './optim.js';
export * from './inplace.js';
