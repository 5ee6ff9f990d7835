import { useQuery } from '@tanstack/react-query';
import type { CodeLang } from './kind';
import { tokenize } from './highlight';

/** Source text highlighted by shiki; tokens are rendered as text, so nothing in them runs. */
export default function Code({ text, lang }: { text: string; lang: CodeLang }) {
  const tokens = useQuery({
    queryKey: ['tokens', lang, text],
    queryFn: () => tokenize(text, lang),
    staleTime: Infinity,
    gcTime: 30_000,
  });
  if (!tokens.data) return <pre data-testid="preview-text">{text}</pre>;
  return (
    <pre data-testid="preview-code" data-lang={lang}>
      {tokens.data.map((line, i) => (
        <div key={i}>
          {line.map((t, j) => (
            <span key={j} style={t.color ? { color: t.color } : undefined}>
              {t.content}
            </span>
          ))}
          {line.length === 0 && '\n'}
        </div>
      ))}
    </pre>
  );
}
