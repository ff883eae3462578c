// `skiff rm CONTAINER...` (see lifecycle.ts).
import { rm } from './lifecycle.js';

export const main = rm;
