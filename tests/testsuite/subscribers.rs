//! `publish subscribers`: CSV import with bad rows reported by line.

use crate::support::Fixture;

#[test]
fn import_reports_bad_rows_by_line_and_imports_the_good_ones() {
    let fixture = Fixture::reference();
    fixture.write(
        "list.csv",
        "\u{FEFF}Email Address,First Name,Last Name\r\nada@example.com,Ada,Lovelace\r\nnot an address,X,Y\r\n\"grace@example.com\",\"Grace\",\"Hopper, RADM\"\r\nADA@example.com,Dup,Licate\r\n,,\r\nbob@localhost,Bob,\r\n",
    );
    let run = fixture.run(&["subscribers", "import", fixture.path().join("list.csv").to_str().unwrap()]).success();
    let err = run.stderr();
    assert!(err.contains("list.csv:3: skipped: \"not an address\" contains a space"), "{err}");
    assert!(err.contains("list.csv:5: skipped: the same address as line 2"), "{err}");
    assert!(err.contains("list.csv:7: skipped: \"bob@localhost\" has no valid domain"), "{err}");
    assert!(run.stdout().contains("2 added"), "{}", run.stdout());
    let list = fixture.run(&["subscribers", "list"]).success().stdout();
    assert_eq!(list, "ada@example.com\tAda Lovelace\ngrace@example.com\tGrace Hopper, RADM\n");
}

#[test]
fn a_file_without_an_email_column_is_refused() {
    let fixture = Fixture::reference();
    fixture.write("list.csv", "name,phone\nAda,1\n");
    let run = fixture.run(&["subscribers", "import", fixture.path().join("list.csv").to_str().unwrap()]).failure(1);
    assert!(run.stderr().contains("no email column"), "{}", run.stderr());
}
