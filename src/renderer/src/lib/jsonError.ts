// What is wrong with text that JSON.parse refuses, in words and at a line and column: the engine's
// "Unexpected token } in JSON at position 12" differs between engines and says neither where
// (for a person) nor what to do. A small scanner walks the text as JSON's grammar does and stops
// at the first thing that does not fit.

export interface JsonProblem {
  line: number;
  column: number;
  message: string;
}

class Stop extends Error {
  constructor(
    readonly at: number,
    readonly why: string,
  ) {
    super(why);
  }
}

const shown = (ch: string | undefined) => (ch === undefined ? 'the end' : ch === '\n' ? 'a line break' : `'${ch}'`);

function scan(text: string): void {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const value = (before: string): void => {
    ws();
    const ch = text[i];
    if (ch === undefined) throw new Stop(i, `the text ends where a value should be (${before})`);
    if (ch === '{') return object();
    if (ch === '[') return array();
    if (ch === '"') return string();
    if (ch === "'") throw new Stop(i, "text must be in double quotes (\"…\"), not single quotes");
    if (ch === '-' || (ch >= '0' && ch <= '9')) return number();
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    if (ch === '}' || ch === ']' || ch === ',') throw new Stop(i, `a value is missing before ${shown(ch)}`);
    const word = /^[A-Za-z_$][\w$]*/.exec(text.slice(i))?.[0];
    if (word) throw new Stop(i, `${word} is not a value: text must be in double quotes ("${word}")`);
    throw new Stop(i, `${shown(ch)} cannot start a value`);
  };
  const string = (): void => {
    const start = i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\n') throw new Stop(start, 'this text has no closing double quote on its line');
      if (text[i] === '\\') {
        i++;
        if (!'"\\/bfnrtu'.includes(text[i] ?? '')) throw new Stop(i - 1, `\\${text[i] ?? ''} is not an escape JSON knows (write \\\\ for a backslash)`);
      }
      i++;
    }
    if (i >= text.length) throw new Stop(start, 'this text has no closing double quote');
    i++;
  };
  const number = (): void => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) throw new Stop(i, `${shown(text[i])} does not start a number`);
    i += m[0].length;
    if (/[\w.]/.test(text[i] ?? '')) throw new Stop(i, `a number cannot go on with ${shown(text[i])}`);
  };
  const object = (): void => {
    const open = i++;
    ws();
    if (text[i] === '}') {
      i++;
      return;
    }
    for (;;) {
      ws();
      const ch = text[i];
      if (ch === undefined) throw new Stop(open, "this '{' is never closed: a '}' is missing");
      if (ch === '}') throw new Stop(i, "a comma before '}' ends the list of options: remove it");
      if (ch === ',') throw new Stop(i, 'one comma too many: an option name in double quotes is expected here');
      if (ch === "'") throw new Stop(i, 'option names must be in double quotes ("name"), not single quotes');
      if (ch !== '"') {
        const word = /^[A-Za-z_$][\w$]*/.exec(text.slice(i))?.[0];
        throw new Stop(i, word ? `option names must be in double quotes: "${word}"` : `an option name in double quotes is expected, not ${shown(ch)}`);
      }
      string();
      ws();
      if (text[i] !== ':') throw new Stop(i, `a ':' is missing after the option name (found ${shown(text[i])})`);
      i++;
      value("after ':'");
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        return;
      }
      if (text[i] === undefined) throw new Stop(open, "this '{' is never closed: a '}' is missing");
      throw new Stop(i, `a ',' or '}' is missing before ${shown(text[i])}`);
    }
  };
  const array = (): void => {
    const open = i++;
    ws();
    if (text[i] === ']') {
      i++;
      return;
    }
    for (;;) {
      ws();
      if (text[i] === ']') throw new Stop(i, "a comma before ']' ends the list: remove it");
      if (text[i] === undefined) throw new Stop(open, "this '[' is never closed: a ']' is missing");
      value('in a list');
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === ']') {
        i++;
        return;
      }
      if (text[i] === undefined) throw new Stop(open, "this '[' is never closed: a ']' is missing");
      throw new Stop(i, `a ',' or ']' is missing before ${shown(text[i])}`);
    }
  };
  value('at the start');
  ws();
  if (i < text.length) throw new Stop(i, `${shown(text[i])} comes after the end of the value: remove it (or join the parts into one list)`);
}

/** Why `text` is not JSON, with its 1-based line and column; null when it is. */
export function jsonProblem(text: string): JsonProblem | null {
  try {
    JSON.parse(text);
    return null;
  } catch (e) {
    try {
      scan(text);
    } catch (s) {
      if (!(s instanceof Stop)) throw s;
      const before = text.slice(0, s.at).split('\n');
      return { line: before.length, column: before[before.length - 1]!.length + 1, message: s.why };
    }
    // The scanner found nothing: fall back to the engine's words.
    return { line: 1, column: 1, message: (e as Error).message };
  }
}

/** "line 1, column 13: a value is missing before '}'"; null when `text` is JSON. */
export function jsonProblemText(text: string): string | null {
  const p = jsonProblem(text);
  return p && `line ${p.line}, column ${p.column}: ${p.message}`;
}
