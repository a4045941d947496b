import type { IncomingHttpHeaders } from 'node:http';
import { SpecialParams } from './special-params';

const params = (query: string, headers: IncomingHttpHeaders = {}, configured?: { short: string; long: string }) =>
  new SpecialParams(new URLSearchParams(query), headers, configured);

describe('SpecialParams', () => {
  describe('string', () => {
    it('reads kld- and fly- query parameters, whatever the case of the key', () => {
      expect(params('kld-from=0xabc').string('from')).toBe('0xabc');
      expect(params('fly-from=0xdef').string('from')).toBe('0xdef');
      expect(params('KLD-FROM=0x1').string('from')).toBe('0x1');
      expect(params('Fly-From=0x2').string('from')).toBe('0x2');
    });

    it('keeps the case of the value', () => {
      expect(params('kld-register=MyToken').string('register')).toBe('MyToken');
    });

    it('reads x-kaleido- and x-firefly- headers when the query has no such parameter', () => {
      expect(params('', { 'x-kaleido-from': '0xaaa' }).string('from')).toBe('0xaaa');
      expect(params('', { 'x-firefly-from': '0xbbb' }).string('from')).toBe('0xbbb');
    });

    it('takes the first value of a repeated header or query parameter', () => {
      expect(params('', { 'x-kaleido-id': ['first', 'second'] }).string('id')).toBe('first');
      expect(params('kld-id=one&kld-id=two').string('id')).toBe('one');
    });

    it('lets the query win over the header', () => {
      expect(params('kld-from=0xquery', { 'x-kaleido-from': '0xheader' }).string('from')).toBe('0xquery');
      expect(params('fly-from=0xquery', { 'x-firefly-from': '0xheader' }).string('from')).toBe('0xquery');
    });

    it('falls back to the header when the query value is empty', () => {
      expect(params('kld-from=', { 'x-kaleido-from': '0xheader' }).string('from')).toBe('0xheader');
    });

    it('is undefined when neither gives a value (absent or empty)', () => {
      expect(params('').string('from')).toBeUndefined();
      expect(params('kld-from=', { 'x-kaleido-from': '' }).string('from')).toBeUndefined();
      expect(params('from=0x1', { from: '0x1', 'x-other-from': '0x1' }).string('from')).toBeUndefined();
    });

    it('does not confuse one parameter name with another', () => {
      expect(params('kld-fromx=1&kld-gas=2').string('from')).toBeUndefined();
      expect(params('kld-gas=2').string('gas')).toBe('2');
    });
  });

  describe('bool', () => {
    it('is true for a query parameter present with an empty value (?kld-sync)', () => {
      expect(params('kld-sync').bool('sync')).toBe(true);
      expect(params('fly-sync=').bool('sync')).toBe(true);
    });

    it('is true only for "true" in any case', () => {
      expect(params('kld-sync=true').bool('sync')).toBe(true);
      expect(params('kld-sync=TRUE').bool('sync')).toBe(true);
      expect(params('kld-sync=false').bool('sync')).toBe(false);
      expect(params('kld-sync=1').bool('sync')).toBe(false);
      expect(params('kld-sync=yes').bool('sync')).toBe(false);
    });

    it('reads the header only when the query parameter is absent', () => {
      expect(params('', { 'x-kaleido-sync': 'True' }).bool('sync')).toBe(true);
      expect(params('', { 'x-firefly-sync': 'true' }).bool('sync')).toBe(true);
      expect(params('', { 'x-kaleido-sync': 'false' }).bool('sync')).toBe(false);
      expect(params('', { 'x-kaleido-sync': '' }).bool('sync')).toBe(false);
      expect(params('kld-sync=false', { 'x-kaleido-sync': 'true' }).bool('sync')).toBe(false);
      expect(params('kld-sync', { 'x-kaleido-sync': 'false' }).bool('sync')).toBe(true);
    });

    it('is false when not given at all', () => {
      expect(params('').bool('sync')).toBe(false);
    });
  });

  describe('has', () => {
    it('tells "given as false" from "not given"', () => {
      expect(params('kld-sync=false').has('sync')).toBe(true);
      expect(params('', { 'x-firefly-sync': 'false' }).has('sync')).toBe(true);
      expect(params('').has('sync')).toBe(false);
      expect(params('kld-other=1').has('sync')).toBe(false);
    });
  });

  describe('a configured custom prefix', () => {
    const custom = { short: 'acme', long: 'acmecorp' };

    it('reads the configured query prefix and header prefix', () => {
      expect(params('acme-from=0x1', {}, custom).string('from')).toBe('0x1');
      expect(params('ACME-from=0x1', {}, custom).string('from')).toBe('0x1');
      expect(params('', { 'x-acmecorp-from': '0x2' }, custom).string('from')).toBe('0x2');
      expect(params('acme-sync', {}, custom).bool('sync')).toBe(true);
    });

    it('still reads kld-/fly- and x-kaleido-/x-firefly- besides it', () => {
      expect(params('kld-from=0x3', {}, custom).string('from')).toBe('0x3');
      expect(params('fly-from=0x4', {}, custom).string('from')).toBe('0x4');
      expect(params('', { 'x-kaleido-from': '0x5' }, custom).string('from')).toBe('0x5');
      expect(params('', { 'x-firefly-from': '0x6' }, custom).string('from')).toBe('0x6');
    });

    it('prefers the configured prefix when two prefixes are given', () => {
      expect(params('kld-from=0xkld&acme-from=0xacme', {}, custom).string('from')).toBe('0xacme');
      expect(params('', { 'x-kaleido-from': '0xkld', 'x-acmecorp-from': '0xacme' }, custom).string('from')).toBe('0xacme');
    });

    it('is not read when another prefix is configured (the default)', () => {
      expect(params('acme-from=0x1').string('from')).toBeUndefined();
      expect(params('', { 'x-acmecorp-from': '0x1' }).has('from')).toBe(false);
    });

    it('configured as fly/firefly reads the same three-way set (no duplicate lookup needed)', () => {
      expect(params('kld-from=0x7', {}, { short: 'fly', long: 'firefly' }).string('from')).toBe('0x7');
    });
  });
});
