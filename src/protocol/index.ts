export * from './limits.ts';
export * from './errors.ts';
export * from './conversations.ts';
export * from './frames.ts';
export * from './http.ts';
export * from './files.ts';
export * from './file-schemas.ts';
export * from './file-names.ts';
