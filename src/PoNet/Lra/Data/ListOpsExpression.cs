using System.Text;

namespace PoNet.Lra.Data;

/// <summary>
/// A ListOps expression as token ids in prefix form with explicit closers (<c>[MAX 2 [MIN 4 7 ] ]</c>):
/// its value and its official parenthesised text.
/// </summary>
public static class ListOpsExpression
{
    /// <summary>
    /// The value 0..9: MIN, MAX, MED (median; for an even count the floor of the mean of the two
    /// middle values, as <c>int(np.median(...))</c> in the original generator) and SM (sum mod 10).
    /// </summary>
    public static int Evaluate(ReadOnlySpan<int> tokens)
    {
        int position = 0;
        int value = EvaluateAt(tokens, ref position);
        if (position != tokens.Length)
            throw new ArgumentException($"extra tokens after the expression at position {position}");
        return value;
    }

    /// <summary>The value of one operator application over its argument values.</summary>
    public static int Apply(int op, ReadOnlySpan<int> values)
    {
        switch (op)
        {
            case ListOpsVocabulary.Min:
                return Min(values);
            case ListOpsVocabulary.Max:
                return Max(values);
            case ListOpsVocabulary.Sum:
                int sum = 0;
                foreach (int v in values)
                    sum += v;
                return sum % 10;
            case ListOpsVocabulary.Med:
                Span<int> sorted = stackalloc int[values.Length];
                values.CopyTo(sorted);
                sorted.Sort();
                int mid = sorted.Length / 2;
                return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
            default:
                throw new ArgumentException($"token {op} is not an operator");
        }
    }

    /// <summary>
    /// The official TSV text: each operator application as nested pairs, so MAX(2, MIN(4, 7)) is
    /// <c>( ( ( [MAX 2 ) ( ( ( [MIN 4 ) 7 ) ] ) ) ] )</c>.
    /// </summary>
    public static string ToSource(ReadOnlySpan<int> tokens)
    {
        // An application with k arguments opens k + 1 pairs before its operator, so the argument
        // counts are needed first.
        var argumentCounts = new int[tokens.Length];
        var open = new Stack<int>();
        for (int i = 0; i < tokens.Length; i++)
        {
            int t = tokens[i];
            if (open.Count > 0 && t != ListOpsVocabulary.Close)
                argumentCounts[open.Peek()]++;
            if (ListOpsVocabulary.IsOperator(t))
                open.Push(i);
            else if (t == ListOpsVocabulary.Close)
                open.Pop();
        }

        var text = new StringBuilder(tokens.Length * 5);
        int end = WriteSource(tokens, 0, argumentCounts, text);
        if (end != tokens.Length)
            throw new ArgumentException($"extra tokens after the expression at position {end}");
        return text.ToString();
    }

    private static int WriteSource(ReadOnlySpan<int> tokens, int position, int[] argumentCounts, StringBuilder text)
    {
        int t = tokens[position];
        if (!ListOpsVocabulary.IsOperator(t))
        {
            text.Append(ListOpsVocabulary.NameOf(t));
            return position + 1;
        }
        for (int p = 0; p <= argumentCounts[position]; p++)
            text.Append("( ");
        text.Append(ListOpsVocabulary.NameOf(t));
        position++;
        while (tokens[position] != ListOpsVocabulary.Close)
        {
            text.Append(' ');
            position = WriteSource(tokens, position, argumentCounts, text);
            text.Append(" )");
        }
        text.Append(" ] )");
        return position + 1;
    }

    private static int EvaluateAt(ReadOnlySpan<int> tokens, ref int position)
    {
        if (position >= tokens.Length)
            throw new ArgumentException("expression ends early");
        int t = tokens[position++];
        if (ListOpsVocabulary.IsDigit(t))
            return t - 1;
        if (!ListOpsVocabulary.IsOperator(t))
            throw new ArgumentException($"unexpected token {t} at position {position - 1}");
        var values = new List<int>();
        while (position < tokens.Length && tokens[position] != ListOpsVocabulary.Close)
            values.Add(EvaluateAt(tokens, ref position));
        if (position >= tokens.Length)
            throw new ArgumentException("operator without its closing ]");
        position++;
        if (values.Count == 0)
            throw new ArgumentException("operator without arguments");
        return Apply(t, values.ToArray());
    }

    private static int Min(ReadOnlySpan<int> values)
    {
        int m = int.MaxValue;
        foreach (int v in values)
            m = Math.Min(m, v);
        return m;
    }

    private static int Max(ReadOnlySpan<int> values)
    {
        int m = int.MinValue;
        foreach (int v in values)
            m = Math.Max(m, v);
        return m;
    }
}
