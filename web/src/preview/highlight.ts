// Loaded on demand: shiki's core with the JavaScript regex engine (no WebAssembly) and only the
// grammar a file needs. Tokens come back as data; the caller renders them as text in spans.
import { createHighlighterCore, type HighlighterCore, type ThemedToken } from 'shiki/core';
import { createJavaScriptRegexEngine } from 'shiki/engine/javascript';
import type { CodeLang } from './kind';

const GRAMMARS: Record<CodeLang, () => Promise<unknown>> = {
  python: () => import('shiki/langs/python.mjs'),
  javascript: () => import('shiki/langs/javascript.mjs'),
  typescript: () => import('shiki/langs/typescript.mjs'),
  rust: () => import('shiki/langs/rust.mjs'),
  go: () => import('shiki/langs/go.mjs'),
  java: () => import('shiki/langs/java.mjs'),
  cpp: () => import('shiki/langs/cpp.mjs'),
  c: () => import('shiki/langs/c.mjs'),
  shellscript: () => import('shiki/langs/shellscript.mjs'),
  yaml: () => import('shiki/langs/yaml.mjs'),
  toml: () => import('shiki/langs/toml.mjs'),
  json: () => import('shiki/langs/json.mjs'),
  sql: () => import('shiki/langs/sql.mjs'),
  html: () => import('shiki/langs/html.mjs'),
  xml: () => import('shiki/langs/xml.mjs'),
  css: () => import('shiki/langs/css.mjs'),
  ini: () => import('shiki/langs/ini.mjs'),
  dockerfile: () => import('shiki/langs/dockerfile.mjs'),
};

const THEME = 'github-light';
let highlighter: Promise<HighlighterCore> | null = null;
const loaded = new Set<CodeLang>();

export async function tokenize(code: string, lang: CodeLang): Promise<ThemedToken[][]> {
  highlighter ??= createHighlighterCore({
    themes: [import('shiki/themes/github-light.mjs')],
    langs: [],
    engine: createJavaScriptRegexEngine(),
  });
  const h = await highlighter;
  if (!loaded.has(lang)) {
    const grammar = (await GRAMMARS[lang]()) as { default: Parameters<HighlighterCore['loadLanguage']>[0] };
    await h.loadLanguage(grammar.default);
    loaded.add(lang);
  }
  return h.codeToTokensBase(code, { lang, theme: THEME });
}
