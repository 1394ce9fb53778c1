// Golden ids for the C# tokenizer, from HF tokenizers (the Rust library behind BertTokenizerFast).
//
//   cd tools/tokenizer-golden && npm install && node generate.js
//
// Builds bert-base-uncased's tokenizer.json (as published on the hub: BertNormalizer lowercase,
// BertPreTokenizer, WordPiece, [CLS] $A [SEP] / [CLS] $A [SEP] $B:1 [SEP]:1) from the test vocab, then
// encodes fixed tricky texts, seeded random texts and pairs with truncation and padding.
// Left out on purpose, because HF's Python BertTokenizer and the Rust one disagree there (the C# code
// follows the Rust one by default and the Python one with TokenizerCompatibility.Python; those cases are
// in tests/PoNet.Tests/Tokenization/TokenizerCompatibilityTests.cs): capital sigma (Python lowercases a final Σ to ς), unassigned code points (Python
// removes them) and longest_first cuts of a pair where both sequences are cut, the room left is odd
// and the first is not the longer (Python gives the first sequence the extra token).
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('tokenizers');

const dataDir = path.join(__dirname, '..', '..', 'tests', 'PoNet.Tests', 'Data');
const vocab = fs.readFileSync(path.join(dataDir, 'bert-base-uncased-vocab.txt'), 'utf8').split('\n');
if (vocab[vocab.length - 1] === '') vocab.pop();
const special = (content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
const tokenizerJson = {
  version: '1.0', truncation: null, padding: null,
  added_tokens: [special('[PAD]', 0), special('[UNK]', 100), special('[CLS]', 101), special('[SEP]', 102), special('[MASK]', 103)],
  normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
  pre_tokenizer: { type: 'BertPreTokenizer' },
  post_processor: {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
    pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } },
      { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
    special_tokens: {
      '[CLS]': { id: '[CLS]', ids: [101], tokens: ['[CLS]'] },
      '[SEP]': { id: '[SEP]', ids: [102], tokens: ['[SEP]'] },
    },
  },
  decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
  model: {
    type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100,
    vocab: Object.fromEntries(vocab.map((token, id) => [token, id])),
  },
};
const tokenizer = Tokenizer.fromString(JSON.stringify(tokenizerJson));

// mulberry32: a small seeded generator, so the file is the same on every run.
let seed = 20240601;
function random() {
  seed = (seed + 0x6D2B79F5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (items) => items[Math.floor(random() * items.length)];
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, k) => String.fromCodePoint(from + k));
const pools = {
  ascii: [...range(32, 126), ...range(32, 126), '\t', '\n', '\r'],
  lower: range(0x61, 0x7A),
  latin: [...range(0xC0, 0xFF), ...range(0x100, 0x17F)],
  combining: range(0x300, 0x36F),
  greek: [...range(0x391, 0x3A1), ...range(0x3A4, 0x3A9), ...range(0x3B1, 0x3C9)], // no Σ (U+03A3), no U+03A2
  cyrillic: range(0x410, 0x44F),
  cjk: [...range(0x4E00, 0x4E80), ...range(0x3041, 0x3096), ...range(0x30A0, 0x30FF), ...range(0xAC00, 0xAC40),
    ...range(0x1100, 0x1112), ...range(0x1161, 0x1175), ...range(0xF900, 0xF920)],
  fullwidth: range(0xFF01, 0xFF5E),
  punctuation: [...range(0x2010, 0x2027), ...range(0x3001, 0x3003), ...'«»¿¡§¶·'],
  symbols: [...'€©°±×÷£¥¢µ→∑∞≈', ...range(0x1F600, 0x1F613)],
  invisible: [0x0, 0x1, 0x7F, 0x85, 0x200B, 0x200C, 0x200D, 0x200E, 0xFEFF, 0xAD, 0xFFFD, 0x2028, 0x2029, 0xA0,
    0x3000, 0x2003, 0x2009, 0x1C, 0x1F, 0xE000, 0x0B, 0x0C].map((c) => String.fromCodePoint(c)),
  odd: [...'İẞǅΩKÅﬁ²½ⅨⓐǄ', ...[0x10400, 0x10428, 0x1D400, 0x2126, 0x212A, 0x212B, 0x2160, 0x24B6].map((c) => String.fromCodePoint(c))],
  special: ['[MASK]', '[SEP]', '[CLS]', '[UNK]', '[PAD]', '[mask]', '[MASK', '##', '##ing'],
  words: ['the', 'unaffable', "don't", 'U.S.A.', 'hello', '$5.00', 'naïve', 'Café', 'résumé', 'running', "John's",
    'e-mail', 'co-operate', '3.14159', "isn't", 'Ελληνικά', 'Москва', '東京', '日本語', '한국어', 'ひらがな', 'état',
    'Straße', 'İstanbul', 'ﬁnance', 'tokenization'],
};
const poolNames = Object.keys(pools);
function randomText(maxLength) {
  const chosen = [pick(poolNames), pick(poolNames), pick(poolNames)].slice(0, 1 + Math.floor(random() * 3));
  let text = '';
  const length = Math.floor(random() * (maxLength + 1));
  for (let k = 0; k < length; k++) {
    text += pick(pools[pick(chosen)]);
    if (random() < 0.2) text += ' ';
  }
  return text;
}

const fixed = [
  '', ' ', 'Hello, world!', 'Café naïve résumé', 'Cafe\u0301', '我爱 北京', "don't", 'U.S.A.', 'hello!!!', '$5.00',
  'a\tb\nc\r\nd', 'a\u200Bb', 'a\u00A0b', 'a\u0000b\uFFFDc', 'a\u0007b', 'a\u2028b', 'co\u00ADoperate', '\uFEFFhello',
  'a'.repeat(100), 'a'.repeat(101), 'é'.repeat(101), 'hello😀', '😀', 'unaffable', 'the [MASK] sat', '[mask]',
  'a[SEP]b', '5€ 20°C', 'ＡＢＣ ﬁ ½', 'İstanbul', 'e-mail co-operate 3.14159 John\'s isn\'t',
  'The quick brown fox jumps over the lazy dog.', '  leading and trailing  ', '\u0301', 'e \u0301',
];
const cases = [];
for (const text of fixed) cases.push({ text });
for (let k = 0; k < 300; k++) cases.push({ text: randomText(30) });
for (let k = 0; k < 60; k++) cases.push({ text: randomText(15), text_pair: randomText(15) });

const lengthOf = async (text) => (await tokenizer.encode(text, null, { addSpecialTokens: false })).getIds().length;
const strategies = { longest_first: 'LongestFirst', only_first: 'OnlyFirst', only_second: 'OnlySecond' };
for (let k = 0; k < 120; k++) {
  const text = randomText(20);
  const pair = random() < 0.8 ? randomText(20) : null;
  const name = pair === null ? 'longest_first' : pick(Object.keys(strategies));
  cases.push({ text, text_pair: pair, max_length: 3 + Math.floor(random() * 20), truncation: name, pad_to: random() < 0.3 ? 24 : null });
}

(async () => {
  const lines = [];
  let left = 0;
  for (const c of cases) {
    tokenizer.disableTruncation();
    tokenizer.disablePadding();
    if (c.max_length) {
      const a = await lengthOf(c.text);
      const b = c.text_pair === null ? 0 : await lengthOf(c.text_pair);
      const room = c.max_length - (c.text_pair === null ? 2 : 3);
      const bothCut = c.text_pair !== null && a > room / 2 && b > room / 2 && a + b > room;
      const tooShort = (c.truncation === 'only_first' || c.text_pair === null) ? a + b > room && a <= a + b - room
        : c.truncation === 'only_second' ? a + b > room && b <= a + b - room : false;
      if ((c.truncation === 'longest_first' && bothCut && room % 2 === 1 && a <= b) || tooShort) {
        left++;
        continue;
      }
      tokenizer.setTruncation(c.max_length, { strategy: strategies[c.truncation] });
    }
    if (c.pad_to) tokenizer.setPadding({ maxLength: c.pad_to, padId: 0, padToken: '[PAD]' });
    const encoding = await tokenizer.encode(c.text, c.text_pair ?? null);
    const line = { text: c.text };
    if (c.text_pair != null) line.text_pair = c.text_pair;
    if (c.max_length) { line.max_length = c.max_length; line.truncation = c.truncation; }
    if (c.pad_to) line.pad_to = c.pad_to;
    line.input_ids = encoding.getIds();
    line.token_type_ids = encoding.getTypeIds();
    line.attention_mask = encoding.getAttentionMask();
    lines.push(JSON.stringify(line));
  }
  fs.writeFileSync(path.join(dataDir, 'bert-base-uncased-golden.jsonl'), lines.join('\n') + '\n');
  console.log(`wrote ${lines.length} cases (${left} truncation cases left out)`);
})();
