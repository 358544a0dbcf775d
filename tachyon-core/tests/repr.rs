//! `python_str_repr` against the text of Python's `repr()`.
use tachyon_core::repr::python_str_repr;

#[test]
fn quotes_and_escapes_as_python() {
    for (text, want) in [
        ("", "''"),
        ("a b", "'a b'"),
        ("it's", "\"it's\""),
        ("both ' and \"", "'both \\' and \"'"),
        ("back\\slash", "'back\\\\slash'"),
        ("\t\n\r", "'\\t\\n\\r'"),
        ("\u{0}\u{1f}\u{7f}", "'\\x00\\x1f\\x7f'"),
        ("\u{85}\u{a0}\u{ad}", "'\\x85\\xa0\\xad'"),
        ("caf\u{e9} \u{3b1}\u{1f600}", "'caf\u{e9} \u{3b1}\u{1f600}'"),
        ("\u{2028}\u{200b}\u{feff}", "'\\u2028\\u200b\\ufeff'"),
    ] {
        assert_eq!(python_str_repr(text), want, "{text:?}");
    }
}
