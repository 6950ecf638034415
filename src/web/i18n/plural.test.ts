import { beforeAll, describe, expect, it, vi } from 'vitest';

// i18n reads the browser's languages when it loads; this runs in Node.
vi.stubGlobal('navigator', { languages: ['en-US'], language: 'en-US' });
let i18n: typeof import('./i18n.ts');
beforeAll(async () => {
  i18n = await import('./i18n.ts');
});

describe('counted phrases', () => {
  it('take the singular for one in English: "1 character left", "2 characters left"', () => {
    i18n.locale.value = 'en';
    expect(i18n.tn('composer.left', 1)).toBe('1 character left');
    expect(i18n.tn('composer.left', 2)).toBe('2 characters left');
    expect(i18n.tn('composer.left', 0)).toBe('0 characters left');
    expect(i18n.tn('directory.found', 1)).toBe('1 room');
  });

  it('have one form in Chinese', () => {
    i18n.locale.value = 'zh-CN';
    expect(i18n.tn('composer.left', 1)).toBe('还可输入 1 个字符');
    expect(i18n.tn('field.left', 2)).toBe('还可输入 2 个字符');
  });
});
