import { describe, expect, it } from 'vitest';
import { addressKey } from './address-key.ts';

describe('addressKey', () => {
  it('counts an IPv6 client by its /64, whichever address of it and however it is written', () => {
    const key = '2001:db8:aa:bb::/64';
    for (const address of ['2001:db8:aa:bb::1', '2001:db8:aa:bb:ffff:ffff:ffff:ffff', '2001:DB8:AA:BB:0:0:0:7', '[2001:db8:aa:bb::9]:443', '2001:db8:aa:bb::2%eth0']) {
      expect([address, addressKey(address)]).toEqual([address, key]);
    }
    expect(addressKey('2001:db8:aa:bc::1')).toBe('2001:db8:aa:bc::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('64:ff9b::198.51.100.7')).toBe('64:ff9b:0:0::/64');
  });

  it('counts an IPv4 client as itself, with a port, or IPv4-mapped', () => {
    for (const address of ['198.51.100.7', '198.51.100.7:1234', '::ffff:198.51.100.7', '::FFFF:c633:6407', '[::ffff:198.51.100.7]:80']) {
      expect([address, addressKey(address)]).toEqual([address, '198.51.100.7']);
    }
  });

  it('leaves anything that is not an IP address as it is', () => {
    for (const address of ['', 'unix', '198.51.100.300', '1:2:3']) expect(addressKey(address)).toBe(address);
  });
});
