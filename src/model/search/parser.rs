//! Text → syntax tree. Knows the grammar, nothing of what fields mean (see `filter.rs`).
//!
//! Iterative lexer, recursive-descent parser whose depth is bounded by `MAX_DEPTH`, so no input
//! can overflow the stack; every error carries the 1-based character column it was found at.

use super::{MAX_CONDITIONS, MAX_DEPTH, MAX_LIST_VALUES, MAX_QUERY_BYTES, SearchError, shorten};

/// A value as written: the text of a quoted string, or a bare word (number, boolean, date, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    pub text: String,
    pub quoted: bool,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Scalar(Scalar),
    List(Vec<Scalar>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Eq,
    NotEq,
    Prefix,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Has,
    Exists,
    NotExists,
}

impl Operator {
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Eq => "=",
            Operator::NotEq => "NOT =",
            Operator::Prefix => ":",
            Operator::Lt => "<",
            Operator::Le => "<=",
            Operator::Gt => ">",
            Operator::Ge => ">=",
            Operator::In => "IN",
            Operator::NotIn => "NOT IN",
            Operator::Has => "HAS",
            Operator::Exists => "EXISTS",
            Operator::NotExists => "NOT EXISTS",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: String,
    pub field_column: usize,
    pub operator: Operator,
    pub operator_column: usize,
    /// None for `EXISTS` / `NOT EXISTS`.
    pub operand: Option<Operand>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Condition(Condition),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Eq,
    Colon,
    Lt,
    Le,
    Gt,
    Ge,
    /// A quoted string, unescaped.
    Str(String),
    /// Anything else: a field, a keyword, a number, a bare value.
    Word(String),
}

#[derive(Debug, Clone)]
struct Lexeme {
    token: Token,
    column: usize,
}

fn describe(token: Option<&Token>) -> String {
    match token {
        None => "the end of the query".into(),
        Some(Token::LParen) => "`(`".into(),
        Some(Token::RParen) => "`)`".into(),
        Some(Token::LBracket) => "`[`".into(),
        Some(Token::RBracket) => "`]`".into(),
        Some(Token::Comma) => "`,`".into(),
        Some(Token::Eq) => "`=`".into(),
        Some(Token::Colon) => "`:`".into(),
        Some(Token::Lt) => "`<`".into(),
        Some(Token::Le) => "`<=`".into(),
        Some(Token::Gt) => "`>`".into(),
        Some(Token::Ge) => "`>=`".into(),
        Some(Token::Str(s)) => format!("the string \"{}\"", shorten(s)),
        Some(Token::Word(w)) => format!("`{}`", shorten(w)),
    }
}

/// Characters that end a bare word.
fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | ',' | '"' | '=' | '<' | '>' | '!')
}

fn lex(text: &str) -> Result<Vec<Lexeme>, SearchError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        let single = |token| Lexeme { token, column };
        match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => out.push(single(Token::LParen)),
            ')' => out.push(single(Token::RParen)),
            '[' => out.push(single(Token::LBracket)),
            ']' => out.push(single(Token::RBracket)),
            ',' => out.push(single(Token::Comma)),
            '=' => out.push(single(Token::Eq)),
            ':' => out.push(single(Token::Colon)),
            '<' | '>' => {
                let or_equal = chars.get(i + 1) == Some(&'=');
                let token = match (c, or_equal) {
                    ('<', false) => Token::Lt,
                    ('<', true) => Token::Le,
                    ('>', false) => Token::Gt,
                    _ => Token::Ge,
                };
                out.push(single(token));
                if or_equal {
                    i += 1;
                }
            }
            '!' => {
                return Err(SearchError::at(
                    column,
                    "`!` is not an operator; write `NOT =` or `NOT IN`",
                ));
            }
            '"' => {
                let mut value = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => {
                            return Err(SearchError::at(
                                column,
                                "this string has no closing double quote",
                            ));
                        }
                        Some('"') => break,
                        Some('\\') => match chars.get(j + 1) {
                            Some(&escaped) => {
                                value.push(escaped);
                                j += 2;
                            }
                            None => {
                                return Err(SearchError::at(
                                    column,
                                    "this string has no closing double quote",
                                ));
                            }
                        },
                        Some(&other) => {
                            value.push(other);
                            j += 1;
                        }
                    }
                }
                out.push(single(Token::Str(value)));
                i = j;
            }
            _ => {
                // A word starting with a digit may hold `:` (a time of day); otherwise `:` is
                // the begins-with operator even without spaces around it (`name:"x"`).
                let numeric = c.is_ascii_digit();
                let mut j = i;
                while j < chars.len() && !is_delimiter(chars[j]) && (numeric || chars[j] != ':') {
                    j += 1;
                }
                let word: String = chars[i..j].iter().collect();
                out.push(single(Token::Word(word)));
                i = j;
                continue;
            }
        }
        i += 1;
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Lexeme>,
    position: usize,
    /// Column just past the last character, for errors at the end of the query.
    end_column: usize,
    conditions: usize,
    list_values: usize,
}

fn keyword(token: Option<&Token>, word: &str) -> bool {
    matches!(token, Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position).map(|l| &l.token)
    }

    fn peek_at(&self, offset: usize) -> Option<&Token> {
        self.tokens.get(self.position + offset).map(|l| &l.token)
    }

    fn column(&self) -> usize {
        self.tokens
            .get(self.position)
            .map_or(self.end_column, |l| l.column)
    }

    fn next(&mut self) -> Option<Lexeme> {
        let lexeme = self.tokens.get(self.position).cloned();
        if lexeme.is_some() {
            self.position += 1;
        }
        lexeme
    }

    fn unexpected(&self, expected: &str) -> SearchError {
        SearchError::at(
            self.column(),
            format!("expected {expected}, found {}", describe(self.peek())),
        )
    }

    fn expr(&mut self, depth: usize) -> Result<Expr, SearchError> {
        let mut alternatives = vec![self.conjunction(depth)?];
        while keyword(self.peek(), "OR") {
            self.next();
            alternatives.push(self.conjunction(depth)?);
        }
        Ok(if alternatives.len() == 1 {
            alternatives.remove(0)
        } else {
            Expr::Or(alternatives)
        })
    }

    fn conjunction(&mut self, depth: usize) -> Result<Expr, SearchError> {
        let mut terms = vec![self.term(depth)?];
        while keyword(self.peek(), "AND") {
            self.next();
            terms.push(self.term(depth)?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::And(terms)
        })
    }

    fn term(&mut self, depth: usize) -> Result<Expr, SearchError> {
        if self.peek() == Some(&Token::LParen) {
            if depth >= MAX_DEPTH {
                return Err(SearchError::at(
                    self.column(),
                    format!("parentheses nest deeper than {MAX_DEPTH} levels"),
                ));
            }
            let open = self.column();
            self.next();
            let inner = self.expr(depth + 1)?;
            if self.peek() != Some(&Token::RParen) {
                return Err(match self.peek() {
                    None => SearchError::at(open, "this `(` is never closed"),
                    Some(_) => self.unexpected("`AND`, `OR` or `)`"),
                });
            }
            self.next();
            return Ok(inner);
        }
        self.condition().map(Expr::Condition)
    }

    fn condition(&mut self) -> Result<Condition, SearchError> {
        let field_column = self.column();
        let field = match self.peek() {
            Some(Token::Word(w))
                if !["AND", "OR", "NOT"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k)) =>
            {
                w.clone()
            }
            Some(Token::Str(s)) => s.clone(),
            _ => return Err(self.unexpected("a field name")),
        };
        self.next();
        self.conditions += 1;
        if self.conditions > MAX_CONDITIONS {
            return Err(SearchError::at(
                field_column,
                format!("a query may hold at most {MAX_CONDITIONS} conditions"),
            ));
        }
        let operator_column = self.column();
        let operator = self.operator()?;
        let operand = match operator {
            Operator::Exists | Operator::NotExists => None,
            Operator::In | Operator::NotIn => Some(self.list(operator)?),
            _ => Some(Operand::Scalar(self.scalar(operator)?)),
        };
        Ok(Condition {
            field,
            field_column,
            operator,
            operator_column,
            operand,
        })
    }

    fn operator(&mut self) -> Result<Operator, SearchError> {
        let simple = match self.peek() {
            Some(Token::Eq) => Some(Operator::Eq),
            Some(Token::Colon) => Some(Operator::Prefix),
            Some(Token::Lt) => Some(Operator::Lt),
            Some(Token::Le) => Some(Operator::Le),
            Some(Token::Gt) => Some(Operator::Gt),
            Some(Token::Ge) => Some(Operator::Ge),
            _ => None,
        };
        if let Some(op) = simple {
            self.next();
            return Ok(op);
        }
        for (word, op) in [
            ("IN", Operator::In),
            ("HAS", Operator::Has),
            ("EXISTS", Operator::Exists),
        ] {
            if keyword(self.peek(), word) {
                self.next();
                return Ok(op);
            }
        }
        if keyword(self.peek(), "NOT") {
            let negated = if self.peek_at(1) == Some(&Token::Eq) {
                Some(Operator::NotEq)
            } else if keyword(self.peek_at(1), "IN") {
                Some(Operator::NotIn)
            } else if keyword(self.peek_at(1), "EXISTS") {
                Some(Operator::NotExists)
            } else {
                None
            };
            if let Some(op) = negated {
                self.next();
                self.next();
                return Ok(op);
            }
            self.next();
            return Err(self.unexpected("`=`, `IN` or `EXISTS` after `NOT`"));
        }
        Err(self.unexpected(
            "an operator (`=`, `:`, `<`, `<=`, `>`, `>=`, `IN`, `NOT IN`, `NOT =`, `HAS`, `EXISTS`, `NOT EXISTS`)",
        ))
    }

    fn scalar(&mut self, after: Operator) -> Result<Scalar, SearchError> {
        let column = self.column();
        match self.peek() {
            Some(Token::Str(s)) => {
                let text = s.clone();
                self.next();
                Ok(Scalar {
                    text,
                    quoted: true,
                    column,
                })
            }
            Some(Token::Word(w)) if !["AND", "OR"].iter().any(|k| w.eq_ignore_ascii_case(k)) => {
                let text = w.clone();
                self.next();
                Ok(Scalar {
                    text,
                    quoted: false,
                    column,
                })
            }
            Some(Token::LBracket) => Err(SearchError::at(
                column,
                format!(
                    "a list of values needs `IN` or `NOT IN`, not `{}`",
                    after.as_str()
                ),
            )),
            _ => Err(self.unexpected(&format!("a value after `{}`", after.as_str()))),
        }
    }

    fn list(&mut self, after: Operator) -> Result<Operand, SearchError> {
        if self.peek() != Some(&Token::LBracket) {
            return Err(self.unexpected(&format!("`[` after `{}`", after.as_str())));
        }
        self.next();
        let mut values = Vec::new();
        loop {
            if self.peek() == Some(&Token::RBracket) && values.is_empty() {
                return Err(SearchError::at(
                    self.column(),
                    "a list needs at least one value",
                ));
            }
            let value = self.scalar(after)?;
            self.list_values += 1;
            if self.list_values > MAX_LIST_VALUES {
                return Err(SearchError::at(
                    value.column,
                    format!("a query may hold at most {MAX_LIST_VALUES} list values"),
                ));
            }
            values.push(value);
            match self.peek() {
                Some(Token::Comma) => {
                    self.next();
                }
                Some(Token::RBracket) => {
                    self.next();
                    return Ok(Operand::List(values));
                }
                _ => return Err(self.unexpected("`,` or `]` in a list")),
            }
        }
    }
}

/// Parses a query; `Ok(None)` for an empty or white-space-only one.
pub fn parse(text: &str) -> Result<Option<Expr>, SearchError> {
    if text.len() > MAX_QUERY_BYTES {
        return Err(SearchError::at(
            1,
            format!(
                "the query is {} bytes long; at most {MAX_QUERY_BYTES} are allowed",
                text.len()
            ),
        ));
    }
    let tokens = lex(text)?;
    if tokens.is_empty() {
        return Ok(None);
    }
    let mut parser = Parser {
        tokens,
        position: 0,
        end_column: text.chars().count() + 1,
        conditions: 0,
        list_values: 0,
    };
    let expr = parser.expr(0)?;
    if parser.peek().is_some() {
        return Err(match parser.peek() {
            Some(Token::RParen) => SearchError::at(parser.column(), "this `)` closes nothing"),
            _ => parser.unexpected("`AND`, `OR` or the end of the query"),
        });
    }
    Ok(Some(expr))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(text: &str) -> Condition {
        match parse(text).unwrap().unwrap() {
            Expr::Condition(c) => c,
            other => panic!("not a condition: {other:?}"),
        }
    }

    fn error(text: &str) -> SearchError {
        parse(text).unwrap_err()
    }

    #[test]
    fn conditions_and_operators() {
        let c = cond(r#"name = "a b.jpg""#);
        assert_eq!(
            (
                c.field.as_str(),
                c.operator,
                c.field_column,
                c.operator_column
            ),
            ("name", Operator::Eq, 1, 6)
        );
        assert_eq!(
            c.operand,
            Some(Operand::Scalar(Scalar {
                text: "a b.jpg".into(),
                quoted: true,
                column: 8
            }))
        );
        assert_eq!(cond("tags NOT IN [\"a\", b]").operator, Operator::NotIn);
        assert_eq!(cond("tags not exists").operator, Operator::NotExists);
        assert_eq!(cond("width NOT = 3").operator, Operator::NotEq);
        assert_eq!(cond("width>=3").operator, Operator::Ge);
        assert_eq!(cond("name:\"x\"").operator, Operator::Prefix);
        assert_eq!(
            cond("\"customMetadata.brand\" = nike").field,
            "customMetadata.brand"
        );
    }

    #[test]
    fn bare_words_keep_times_of_day() {
        let c = cond("createdAt < 2024-01-02T10:20:30Z");
        match c.operand {
            Some(Operand::Scalar(s)) => {
                assert_eq!(s.text, "2024-01-02T10:20:30Z");
                assert!(!s.quoted);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn escapes() {
        let c = cond(r#"tags IN ["say \"hi\"", "back\\slash"]"#);
        let Some(Operand::List(values)) = c.operand else {
            panic!()
        };
        assert_eq!(values[0].text, "say \"hi\"");
        assert_eq!(values[1].text, "back\\slash");
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let e = parse("a = 1 OR b = 2 AND c = 3").unwrap().unwrap();
        let Expr::Or(alternatives) = e else { panic!() };
        assert!(matches!(alternatives[0], Expr::Condition(_)));
        assert!(matches!(&alternatives[1], Expr::And(t) if t.len() == 2));
        let e = parse("(a = 1 OR b = 2) AND c = 3").unwrap().unwrap();
        assert!(matches!(e, Expr::And(_)));
    }

    #[test]
    fn empty_is_no_filter() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse(" \t\n").unwrap(), None);
    }

    #[test]
    fn errors_name_the_column() {
        let e = error("name = ");
        assert_eq!(e.column, 8);
        assert!(e.message.contains("the end of the query"), "{e}");
        assert_eq!(error("(name = \"a\"").column, 1);
        assert_eq!(error("name = \"a\")").column, 11);
        assert_eq!(error("name = \"a").column, 8);
        assert_eq!(error("name \"a\"").column, 6);
        assert_eq!(error("name = a AND").column, 13);
        assert_eq!(error("name = a b").column, 10);
        assert_eq!(error("tags IN []").column, 10);
        assert_eq!(error("tags IN \"a\"").column, 9);
        assert_eq!(error("name != a").column, 6);
        assert_eq!(error("tags NOT HAS a").column, 10);
        assert_eq!(error("size = [1]").column, 8);
    }

    #[test]
    fn limits() {
        let deep = format!("{}a = 1{}", "(".repeat(33), ")".repeat(33));
        assert!(error(&deep).message.contains("deeper"));
        let ok = format!("{}a = 1{}", "(".repeat(32), ")".repeat(32));
        assert!(parse(&ok).is_ok());
        let many = vec!["a = 1"; 201].join(" AND ");
        assert!(error(&many).message.contains("200 conditions"));
        let long = format!("name = \"{}\"", "x".repeat(MAX_QUERY_BYTES));
        assert!(error(&long).message.contains("bytes"));
        let values = vec!["1"; 1001].join(",");
        assert!(
            error(&format!("a IN [{values}]"))
                .message
                .contains("list values")
        );
    }

    #[test]
    fn never_panics_on_garbage() {
        // A cheap deterministic stand-in for the fuzzer: every prefix of a tricky query and
        // a byte soup of the grammar's characters.
        let tricky = r#"(name HAS "a\" b" OR tags NOT IN ["x", y]) AND "customMetadata.k" >= 1.5e3 AND path : "/a/b" AND createdAt > 2024-01-01T00:00:00 NOT EXISTS"#;
        for end in 0..=tricky.len() {
            if tricky.is_char_boundary(end) {
                let _ = parse(&tricky[..end]);
            }
        }
        let alphabet: Vec<char> = "()[],\"=:<>! aN\\OTIRSHX1.é".chars().collect();
        let mut state = 0x2545_f491_u32;
        for _ in 0..2000 {
            let len = (state % 40) as usize;
            let text: String = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    alphabet[(state as usize) % alphabet.len()]
                })
                .collect();
            let _ = parse(&text);
        }
    }
}
