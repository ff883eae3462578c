// `skiff restart CONTAINER...` (see lifecycle.ts).
import { restart } from './lifecycle.js';

export const main = restart;
