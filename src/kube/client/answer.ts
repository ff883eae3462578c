// A response body read whole, for KubeClient: 'data'/'end' listeners instead of an async
// iterator (one promise per answer instead of one per chunk, no iterator objects).
import type http from 'node:http';
import { SkiffError } from '../../common/index.js';

/** A whole answer: its status and its body as text. */
export interface Answer {
  status: number;
  text: string;
}

/** Collects a response's body: one chunk is decoded as it is, several are joined once. A response
 *  that closes before its end (an abort, a dropped connection) rejects. */
export function readAnswer(res: http.IncomingMessage, resolve: (a: Answer) => void, reject: (e: Error) => void): void {
  let first: Buffer | undefined;
  let more: Buffer[] | undefined;
  let ended = false;
  res.on('data', (c: Buffer) => {
    if (first === undefined) first = c;
    else if (more === undefined) more = [first, c];
    else more.push(c);
  });
  res.on('end', () => {
    ended = true;
    const buf = more ? Buffer.concat(more) : first;
    resolve({ status: res.statusCode ?? 500, text: buf ? buf.toString('utf8') : '' });
  });
  res.on('error', reject);
  res.on('close', () => {
    if (!ended) reject(new SkiffError('Unavailable', 'the connection closed before the whole answer'));
  });
}
