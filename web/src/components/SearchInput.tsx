import { useEffect, useState } from 'react';

/** A search box whose value reaches `onChange` (the URL, usually) after a short pause in typing. */
export function SearchInput({
  value,
  onChange,
  label,
  placeholder,
  delay = 300,
}: {
  value: string;
  onChange: (value: string) => void;
  label: string;
  placeholder: string;
  delay?: number;
}) {
  const [text, setText] = useState(value);
  const [seen, setSeen] = useState(value);
  if (value !== seen) {
    // The value changed from outside (the back button): show what it says.
    setSeen(value);
    setText(value);
  }
  useEffect(() => {
    if (text === value) return;
    const timer = window.setTimeout(() => onChange(text), delay);
    return () => window.clearTimeout(timer);
  }, [text, value, onChange, delay]);
  return (
    <input
      type="search"
      aria-label={label}
      placeholder={placeholder}
      value={text}
      onChange={(e) => setText(e.target.value)}
    />
  );
}
