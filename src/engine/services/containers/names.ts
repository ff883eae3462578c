// Random container names in Docker's "adjective_surname" style (own word lists).
import { randomInt } from 'node:crypto';

const LEFT = [
  'brave',
  'calm',
  'clever',
  'eager',
  'fervent',
  'gallant',
  'happy',
  'jolly',
  'keen',
  'lucid',
  'merry',
  'nimble',
  'quiet',
  'quirky',
  'relaxed',
  'serene',
  'sharp',
  'steady',
  'swift',
  'tender',
  'vibrant',
  'witty',
  'zealous',
  'bold',
];
const RIGHT = [
  'ada',
  'babbage',
  'curie',
  'darwin',
  'euler',
  'faraday',
  'gauss',
  'hopper',
  'kepler',
  'lovelace',
  'maxwell',
  'noether',
  'pascal',
  'ramanujan',
  'shannon',
  'tesla',
  'turing',
  'volta',
  'wiles',
  'yalow',
  'hypatia',
  'ritchie',
  'thompson',
  'knuth',
];

export function nameFor(): string {
  return `${LEFT[randomInt(LEFT.length)]}_${RIGHT[randomInt(RIGHT.length)]}${randomInt(100) < 20 ? randomInt(10) : ''}`;
}
