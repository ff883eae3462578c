export type * from './ast.js';
export { parseDockerfile, parseDuration } from './parser.js';
export { lex, type LogicalLine } from './lexer.js';
export { expandWord, expandWords, splitRaw, type Env } from './shell-words.js';
export { IgnoreMatcher, parseDockerignore, globToRegExp, hasMagic } from './dockerignore.js';
