//! "Did you mean …?" for misspelt field names, variants and references: the nearest
//! allowed name by edit distance, offered only when it is close enough to be a likely typo.

/// Edit distance between two strings in characters: insertions, deletions, substitutions
/// and transpositions of two adjacent characters each count one (optimal string alignment).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

/// The candidate nearest to `word` if it is a plausible typo of it: at most one edit for
/// names of up to four characters, otherwise at most a third of the name's length (and
/// never more than three edits); an exact match ignoring case always qualifies. Ties go
/// to the first candidate.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let len = word.chars().count();
    let limit = if len <= 4 { 1 } else { (len / 3).clamp(2, 3) };
    let lower = word.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == word {
            continue;
        }
        let d = if c.to_lowercase() == lower {
            0
        } else {
            edit_distance(word, c)
        };
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// `"; did you mean `x`?"` when a candidate is near `word`, else an empty string.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    nearest(word, candidates)
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}

/// For a serde message such as ``unknown field `batch_max_txs`, expected one of `a`, `b` ``
/// (or ``unknown variant `poison`, expected …``), the suggestion to append, if any.
pub fn for_serde_message(message: &str) -> String {
    let Some((kind_at, offender)) = ["unknown field `", "unknown variant `"]
        .iter()
        .find_map(|k| message.find(k).map(|i| (i + k.len(), *k)))
        .map(|(start, _)| {
            let rest = &message[start..];
            (start, rest.split('`').next().unwrap_or(""))
        })
    else {
        return String::new();
    };
    let after = &message[kind_at + offender.len()..];
    let Some(expected_at) = after.find("expected") else {
        return String::new();
    };
    let expected: Vec<&str> = after[expected_at..].split('`').skip(1).step_by(2).collect();
    did_you_mean(offender, expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_insertions_deletions_substitutions() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("rate", "rat"), 1);
        assert_eq!(edit_distance("poisson", "poison"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("µs", "us"), 1);
        assert_eq!(edit_distance("pbtf", "pbft"), 1, "a transposition is one edit");
    }

    #[test]
    fn nearest_only_offers_plausible_typos() {
        let fields = ["batch_max_tx", "batch_max_bytes", "batch_timeout", "pipeline"];
        assert_eq!(nearest("batch_max_txs", fields), Some("batch_max_tx"));
        assert_eq!(nearest("pipelin", fields), Some("pipeline"));
        assert_eq!(nearest("Pipeline", fields), Some("pipeline"));
        assert_eq!(nearest("latency", fields), None);
        assert_eq!(nearest("pbtf", ["pbft", "raft"]), Some("pbft"));
        assert_eq!(nearest("paxos", ["pbft", "raft", "pow", "poa"]), None);
    }

    #[test]
    fn serde_messages_yield_the_nearest_expected_name() {
        let m = "unknown field `batch_max_txs`, expected one of `name`, `batch_max_tx`, `pipeline`";
        assert_eq!(for_serde_message(m), "; did you mean `batch_max_tx`?");
        let m = "unknown variant `poison`, expected one of `poisson`, `constant`, `profile`";
        assert_eq!(for_serde_message(m), "; did you mean `poisson`?");
        let m = "unknown field `rat`, expected `rate`";
        assert_eq!(for_serde_message(m), "; did you mean `rate`?");
        assert_eq!(
            for_serde_message("unknown field `bogus_field`, expected one of `name`, `seed`"),
            ""
        );
        assert_eq!(for_serde_message("invalid type: string, expected u64"), "");
    }
}
