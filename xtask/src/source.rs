//! Text surgery on Rust sources, line by line: cut an anchored region out
//! and put a hint and `todo!()` in its place (the learner's starter), strip
//! the anchor lines (which mean nothing to a learner), and take the lines
//! of one anchor (what the book shows).
//!
//! Anchors are the comment lines mdBook uses for `{{#include file:name}}`:
//! `// ANCHOR: name` and `// ANCHOR_END: name`, alone on their line.

use anyhow::{Context, Result, bail};

/// Width the hint comments are wrapped to, indentation included.
const HINT_WIDTH: usize = 92;

/// Whether a line opens or closes an anchor, and the anchor's name.
#[derive(Debug, PartialEq, Eq)]
enum Marker<'a> {
    Start(&'a str),
    End(&'a str),
}

fn marker(line: &str) -> Option<Marker<'_>> {
    let comment = line.trim_start().strip_prefix("//")?.trim_start();
    let name_of = |rest: &'static str| {
        let rest = comment.strip_prefix(rest)?.trim_start();
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        (end > 0).then(|| &rest[..end])
    };
    // "ANCHOR_END:" first: "ANCHOR:" is not its prefix, but be explicit.
    if let Some(name) = name_of("ANCHOR_END:") {
        Some(Marker::End(name))
    } else {
        name_of("ANCHOR:").map(Marker::Start)
    }
}

/// The line numbers (from 0) of `anchor`'s start and end markers.
fn find_region(lines: &[&str], anchor: &str) -> Result<(usize, usize)> {
    let starts: Vec<usize> = positions(lines, &Marker::Start(anchor));
    let [start] = starts[..] else {
        bail!(
            "`// ANCHOR: {anchor}` must appear exactly once, found {} times",
            starts.len()
        );
    };
    let end = positions(lines, &Marker::End(anchor))
        .into_iter()
        .find(|&end| end > start)
        .with_context(|| {
            format!("`// ANCHOR: {anchor}` has no `// ANCHOR_END: {anchor}` after it")
        })?;
    Ok((start, end))
}

fn positions(lines: &[&str], wanted: &Marker<'_>) -> Vec<usize> {
    lines
        .iter()
        .enumerate()
        .filter(|(_, line)| marker(line).as_ref() == Some(wanted))
        .map(|(number, _)| number)
        .collect()
}

/// Replaces the lines inside `anchor` (and its two marker lines) with a
/// `// TODO:` comment carrying `hint`, and `todo!(todo_message)`.
pub fn cut_out(source: &str, anchor: &str, hint: &str, todo_message: &str) -> Result<String> {
    replace_region(source, anchor, |indent| {
        let mut body = hint_comment(indent, hint);
        body.push(format!("{indent}todo!({todo_message:?})"));
        body
    })
}

/// Replaces the lines inside `anchor` (and its two marker lines) with
/// `code`, indented like the marker: how `check-exercises` puts a known
/// wrong answer in place of a solution.
pub fn put_in(source: &str, anchor: &str, code: &str) -> Result<String> {
    replace_region(source, anchor, |indent| {
        code.lines()
            .map(|line| match line.trim().is_empty() {
                true => String::new(),
                false => format!("{indent}{line}"),
            })
            .collect()
    })
}

/// Replaces `anchor`'s region, markers included, with the lines `body`
/// makes from the start marker's indentation.
fn replace_region(
    source: &str,
    anchor: &str,
    body: impl FnOnce(&str) -> Vec<String>,
) -> Result<String> {
    let lines: Vec<&str> = source.lines().collect();
    let (start, end) = find_region(&lines, anchor)?;
    let indent: String = lines[start]
        .chars()
        .take_while(|c| c.is_whitespace())
        .collect();
    let mut out: Vec<String> = lines[..start].iter().map(|line| line.to_string()).collect();
    out.extend(body(&indent));
    out.extend(lines[end + 1..].iter().map(|line| line.to_string()));
    Ok(join_like(source, &out))
}

/// `// TODO: hint`, wrapped, continuation lines aligned under the text.
fn hint_comment(indent: &str, hint: &str) -> Vec<String> {
    let first = format!("{indent}// TODO: ");
    let next = format!("{indent}//       ");
    let mut lines = Vec::new();
    let mut current = first.clone();
    for word in hint.split_whitespace() {
        let fresh = current == first || current == next;
        if !fresh && current.len() + 1 + word.len() > HINT_WIDTH {
            lines.push(current);
            current = next.clone();
        }
        if current != first && current != next {
            current.push(' ');
        }
        current.push_str(word);
    }
    lines.push(current);
    lines
}

/// The source without its anchor lines.
pub fn strip_anchors(source: &str) -> String {
    let kept: Vec<String> = source
        .lines()
        .filter(|line| marker(line).is_none())
        .map(str::to_string)
        .collect();
    join_like(source, &kept)
}

/// The lines inside `anchor`, without any anchor lines and without the
/// indentation they all share: what mdBook's `{{#include file:anchor}}`
/// shows, dedented.
pub fn excerpt(source: &str, anchor: &str) -> Result<String> {
    let lines: Vec<&str> = source.lines().collect();
    let (start, end) = find_region(&lines, anchor)?;
    let inside: Vec<&str> = lines[start + 1..end]
        .iter()
        .copied()
        .filter(|line| marker(line).is_none())
        .collect();
    let shared = inside
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let dedented: Vec<String> = inside
        .iter()
        .map(|line| line.get(shared..).unwrap_or("").to_string())
        .collect();
    Ok(dedented.join("\n") + "\n")
}

/// Joins lines, ending with a newline when `original` did.
fn join_like(original: &str, lines: &[String]) -> String {
    let mut joined = lines.join("\n");
    if original.ends_with('\n') {
        joined.push('\n');
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "\
fn kept() {}

// ANCHOR: shown
/// Adds.
fn add(a: u32, b: u32) -> u32 {
    // ANCHOR: add_solution
    let sum = a + b;
    sum
    // ANCHOR_END: add_solution
}
// ANCHOR_END: shown
";

    #[test]
    fn markers_are_recognised_with_their_names_only() {
        assert_eq!(
            marker("    // ANCHOR: ex01_solution"),
            Some(Marker::Start("ex01_solution"))
        );
        assert_eq!(marker("// ANCHOR_END: run"), Some(Marker::End("run")));
        assert_eq!(
            marker("// ANCHOR: a-b trailing words"),
            Some(Marker::Start("a-b"))
        );
        assert_eq!(marker("let anchor = 1; // not a marker"), None);
        assert_eq!(marker("// ANCHOR:"), None);
    }

    #[test]
    fn cut_out_leaves_the_signature_a_hint_and_todo() {
        let starter = cut_out(SOURCE, "add_solution", "add a and b", "exercise 9: add").unwrap();
        assert_eq!(
            starter,
            "\
fn kept() {}

// ANCHOR: shown
/// Adds.
fn add(a: u32, b: u32) -> u32 {
    // TODO: add a and b
    todo!(\"exercise 9: add\")
}
// ANCHOR_END: shown
"
        );
    }

    #[test]
    fn put_in_indents_the_code_like_the_region() {
        let wrong = put_in(SOURCE, "add_solution", "let sum = a - b;\n\nsum").unwrap();
        assert!(
            wrong.contains("u32 {\n    let sum = a - b;\n\n    sum\n}\n"),
            "{wrong}"
        );
        assert!(!wrong.contains("add_solution"));
    }

    #[test]
    fn long_hints_wrap_under_the_todo() {
        let hint = "word ".repeat(60);
        let starter = cut_out(SOURCE, "add_solution", &hint, "x").unwrap();
        let comments: Vec<&str> = starter
            .lines()
            .filter(|l| l.starts_with("    //"))
            .collect();
        assert!(comments.len() > 3, "{starter}");
        assert!(comments.iter().all(|line| line.len() <= HINT_WIDTH));
        assert!(comments[0].starts_with("    // TODO: word"));
        assert!(
            comments[1..]
                .iter()
                .all(|line| line.starts_with("    //       word"))
        );
        let words: usize = comments.iter().map(|l| l.matches("word").count()).sum();
        assert_eq!(words, 60, "no word lost in the wrapping");
    }

    #[test]
    fn a_missing_or_doubled_anchor_is_an_error_not_a_silent_skip() {
        let missing = cut_out(SOURCE, "nope", "h", "m").unwrap_err().to_string();
        assert!(missing.contains("exactly once, found 0"), "{missing}");
        let doubled = format!("{SOURCE}// ANCHOR: shown\n");
        let error = excerpt(&doubled, "shown").unwrap_err().to_string();
        assert!(error.contains("found 2"), "{error}");
        let unclosed = "// ANCHOR: open\nfn f() {}\n";
        assert!(excerpt(unclosed, "open").is_err());
    }

    #[test]
    fn strip_anchors_removes_only_marker_lines() {
        let stripped = strip_anchors(SOURCE);
        assert!(!stripped.contains("ANCHOR"));
        assert_eq!(stripped.lines().count(), SOURCE.lines().count() - 4);
        assert!(stripped.contains("    let sum = a + b;\n"));
        assert!(stripped.ends_with("}\n"));
    }

    #[test]
    fn excerpt_drops_inner_markers_and_shared_indentation() {
        let indented: String = SOURCE.lines().map(|line| format!("    {line}\n")).collect();
        let shown = excerpt(&indented, "shown").unwrap();
        assert_eq!(
            shown,
            "/// Adds.\nfn add(a: u32, b: u32) -> u32 {\n    let sum = a + b;\n    sum\n}\n"
        );
    }
}
