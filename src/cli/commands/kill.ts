// `skiff kill CONTAINER...` (see lifecycle.ts).
import { kill } from './lifecycle.js';

export const main = kill;
