export * from './limits.ts';
export * from './errors.ts';
export * from './conversations.ts';
export * from './frames.ts';
export * from './http.ts';
