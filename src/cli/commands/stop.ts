// `skiff stop CONTAINER...` (see lifecycle.ts).
import { stop } from './lifecycle.js';

export const main = stop;
