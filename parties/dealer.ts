/**
 * P2: the dealer (2pc: correlated randomness, can run ahead) and, in 3pc,
 * the online helper. It runs no job of its own: it serves P0's requests.
 */
import { partyMainIpc } from '../src/mpc/process.js';

void partyMainIpc(async () => {
  throw new Error('P2 runs the dealer loop, not a job');
});
