import { allShardDbs, primaryDb } from '../db/shards';
import { sweepBackchannelLogouts } from '../features/oidc/backchannel-store';
import { getSettings } from '../settings';

/**
 * The OpenID Provider's back-channel sweep, every run (hourly and daily):
 * on each shard, client sessions ended (revoked) without a request to notice
 * (a first-party refresh-token reuse) and rounds that an evicted isolate or a failing client
 * left unconfirmed are claimed and delivered (features/oidc/backchannel-store.ts),
 * a bounded number per shard; the rest go in the next run. It runs before the
 * cleanup, which deletes ended sessions (and their rows) only a week later.
 */
export async function sweepBackchannel(env: Env, now: number): Promise<{ claimed: number[] } | null> {
  const settings = await getSettings(env);
  if (settings.issuerUrl === null) return null;
  const primary = primaryDb(env);
  const claimed = await Promise.all(allShardDbs(env).map((db) => sweepBackchannelLogouts(db, primary, settings, now)));
  return { claimed };
}
