import { describe, expect, it } from 'vitest';
import { linkify } from './linkify.ts';

const links = (text: string) => linkify(text).filter((s) => s.kind === 'link');

describe('links in message text', () => {
  it('take in letters of any script: https://zh.wikipedia.org/wiki/中文 is one link', () => {
    expect(links('see https://zh.wikipedia.org/wiki/中文 please')).toEqual([
      { kind: 'link', text: 'https://zh.wikipedia.org/wiki/中文', href: 'https://zh.wikipedia.org/wiki/%E4%B8%AD%E6%96%87' },
    ]);
    expect(links('https://de.wikipedia.org/wiki/Größe')[0]?.text).toBe('https://de.wikipedia.org/wiki/Größe');
    expect(links('https://例子.测试/路径')[0]).toMatchObject({ text: 'https://例子.测试/路径', href: 'https://xn--fsqu00a.xn--0zwm56d/%E8%B7%AF%E5%BE%84' });
  });

  it('end at full-width punctuation, spaces and invisible characters', () => {
    expect(links('看这个https://x.org/a，很好。')[0]?.text).toBe('https://x.org/a');
    expect(links('（https://x.org/维基）')[0]?.text).toBe('https://x.org/维基');
    expect(links('https://x.org/a\u202egpj.exe')[0]?.text).toBe('https://x.org/a');
    expect(links('https://x.org/a\u200bb')[0]?.text).toBe('https://x.org/a');
  });

  it('keep the rest of the message as text, never as markup', () => {
    expect(linkify('<b>中文</b> https://x.org/<img>')).toEqual([
      { kind: 'text', text: '<b>中文</b> ' },
      { kind: 'link', text: 'https://x.org/', href: 'https://x.org/' },
      { kind: 'text', text: '<img>' },
    ]);
    expect(links('javascript:alert(1) https://x.org/中')).toHaveLength(1);
  });
});
