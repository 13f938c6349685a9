/**
 * P0, P1 and P2 in one process over a real loopback mesh, for unit tests of
 * protocol math and error paths (integration tests use separate processes
 * through the launcher).
 */
import { Context, type TruncationMode } from '../../src/mpc/context.js';
import { DealerClient, DEALER_ID } from '../../src/mpc/dealer-client.js';
import { serveDealer } from '../../src/mpc/dealer-service.js';
import { agreeSeeds } from '../../src/mpc/seeds.js';
import { createLocalMesh } from '../../src/net/index.js';

export interface LocalSession {
  holders: [Context, Context];
  /** P2's context (online in 3pc). */
  helper: Context;
  /** Run the same program on both holders; resolves with both results. */
  both<T>(program: (ctx: Context) => Promise<T>): Promise<[T, T]>;
  /** Run the same program on all three parties. */
  all<T>(program: (ctx: Context) => Promise<T>): Promise<[T, T, T]>;
  close(): Promise<void>;
}

export async function localSession(truncation: TruncationMode = 'local', mode: '2pc' | '3pc' = '2pc'): Promise<LocalSession> {
  const local = await createLocalMesh(3);
  const meshes = local.nodes;
  const seeds = await Promise.all(meshes.map((m) => agreeSeeds(m, local.sessionId)));
  const holders = ([0, 1] as const).map((id) =>
    Context.holder(mode, id, meshes[id]!, new DealerClient(meshes[id]!, id, seeds[id]!), seeds[id]!, { truncation }),
  ) as [Context, Context];
  const helper = Context.helper(mode, meshes[DEALER_ID]!, seeds[DEALER_ID]!, { truncation });
  const dealer = serveDealer(meshes[DEALER_ID]!, seeds[DEALER_ID]!);
  return {
    holders,
    helper,
    both: async <T>(program: (ctx: Context) => Promise<T>) => (await Promise.all(holders.map((ctx) => program(ctx)))) as [T, T],
    all: async <T>(program: (ctx: Context) => Promise<T>) => (await Promise.all([...holders, helper].map((ctx) => program(ctx)))) as [T, T, T],
    close: async () => {
      holders[0].dealer.finish();
      await dealer;
      await local.close();
    },
  };
}
