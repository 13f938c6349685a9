/**
 * P0, P1 and the dealer in one process over a real loopback mesh, for unit
 * tests of protocol math and error paths (integration tests use separate
 * processes through the launcher).
 */
import { Context, type TruncationMode } from '../../src/mpc/context.js';
import { DealerClient, DEALER_ID } from '../../src/mpc/dealer-client.js';
import { serveDealer } from '../../src/mpc/dealer-service.js';
import { STREAM } from '../../src/mpc/runtime.js';
import { agreeSeeds } from '../../src/mpc/seeds.js';
import { createLocalMesh } from '../../src/net/index.js';

export interface LocalSession {
  holders: [Context, Context];
  /** Run the same program on both holders; resolves with both results. */
  both<T>(program: (ctx: Context) => Promise<T>): Promise<[T, T]>;
  close(): Promise<void>;
}

export async function localSession(truncation: TruncationMode = 'local'): Promise<LocalSession> {
  const local = await createLocalMesh(3);
  const meshes = local.nodes;
  const seeds = await Promise.all(meshes.map((m) => agreeSeeds(m)));
  const holders = ([0, 1] as const).map((id) =>
    Context.holder('2pc', id, meshes[id]!, new DealerClient(meshes[id]!, id, seeds[id]!.stream(DEALER_ID, STREAM.dealer)), seeds[id]!.stream(1 - id, STREAM.common), { truncation }),
  ) as [Context, Context];
  const dealer = serveDealer(meshes[DEALER_ID]!, seeds[DEALER_ID]!.stream(0, STREAM.dealer), seeds[DEALER_ID]!.stream(1, STREAM.dealer));
  return {
    holders,
    both: async (program) => (await Promise.all(holders.map((ctx) => program(ctx)))) as [Awaited<ReturnType<typeof program>>, Awaited<ReturnType<typeof program>>],
    close: async () => {
      holders[0].dealer.finish();
      await dealer;
      await local.close();
    },
  };
}
