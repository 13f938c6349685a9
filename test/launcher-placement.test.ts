/**
 * MPCNET_PARTY_NETNS / MPCNET_PARTY_HOSTS (src/mpc/launcher.ts): parsing and
 * the errors, without starting anything (running parties in namespaces needs
 * root: scripts/wan-netns.sh and bench/wan.ts, not run in CI).
 */
import { describe, expect, it } from 'vitest';
import { partyPlacement } from '../src/mpc/launcher.js';

describe('partyPlacement', () => {
  it('is null when neither variable is set (parties forked as always)', () => {
    expect(partyPlacement({})).toBeNull();
  });

  it('reads three namespaces and three addresses', () => {
    expect(partyPlacement({ MPCNET_PARTY_NETNS: 'mpcnet0, mpcnet1,mpcnet2', MPCNET_PARTY_HOSTS: '10.77.0.1,10.77.0.2,::1' })).toEqual({
      netns: ['mpcnet0', 'mpcnet1', 'mpcnet2'],
      hosts: ['10.77.0.1', '10.77.0.2', '::1'],
    });
  });

  it('refuses one variable without the other', () => {
    expect(() => partyPlacement({ MPCNET_PARTY_NETNS: 'a,b,c' })).toThrow(/go together: only MPCNET_PARTY_NETNS is set/);
    expect(() => partyPlacement({ MPCNET_PARTY_HOSTS: '10.0.0.1,10.0.0.2,10.0.0.3' })).toThrow(/only MPCNET_PARTY_HOSTS is set/);
  });

  it('refuses the wrong count, empty entries, bad names, non-addresses and repeated addresses', () => {
    const hosts = '10.77.0.1,10.77.0.2,10.77.0.3';
    expect(() => partyPlacement({ MPCNET_PARTY_NETNS: 'a,b', MPCNET_PARTY_HOSTS: hosts })).toThrow(/MPCNET_PARTY_NETNS must list 3/);
    expect(() => partyPlacement({ MPCNET_PARTY_NETNS: 'a,,c', MPCNET_PARTY_HOSTS: hosts })).toThrow(/MPCNET_PARTY_NETNS must list 3/);
    expect(() => partyPlacement({ MPCNET_PARTY_NETNS: 'a,../b,c', MPCNET_PARTY_HOSTS: hosts })).toThrow(/'..\/b' is not a network namespace name/);
    expect(() => partyPlacement({ MPCNET_PARTY_NETNS: 'a,b,c', MPCNET_PARTY_HOSTS: '10.77.0.1,host-b,10.77.0.3' })).toThrow(/'host-b' is not an IP address/);
    expect(() => partyPlacement({ MPCNET_PARTY_NETNS: 'a,b,c', MPCNET_PARTY_HOSTS: '10.77.0.1,10.77.0.1,10.77.0.3' })).toThrow(/must differ/);
  });
});
