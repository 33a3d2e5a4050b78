//! `publish subscribers`: CSV import with bad rows reported by line.

use crate::support::{Fixture, Run};

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

/// Writes `bytes` as `file` in a fresh workspace and imports it.
fn import(file: &str, bytes: &[u8]) -> (Fixture, Run) {
    let fixture = Fixture::reference();
    std::fs::write(fixture.path().join(file), bytes).unwrap();
    let run = fixture.run(&["subscribers", "import", fixture.path().join(file).to_str().unwrap()]);
    (fixture, run)
}

/// `publish subscribers list` of the fixture.
fn list(fixture: &Fixture) -> String {
    fixture.run(&["subscribers", "list"]).success().stdout()
}

/// `text` as Excel's "Unicode Text" writes it: UTF-16 with a BOM.
fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let bom: &[u8] = if big_endian { &[0xFE, 0xFF] } else { &[0xFF, 0xFE] };
    let units = text.encode_utf16().flat_map(|u| if big_endian { u.to_be_bytes() } else { u.to_le_bytes() });
    bom.iter().copied().chain(units).collect()
}

#[test]
fn a_semicolon_separated_excel_export_imports() {
    let csv = "E-Mail-Adresse;Vorname;Nachname;Notiz\r\nanna@example.de;Anna;Müller;\"eins;\r\nzwei\"\r\nkaputt;X;Y;\r\n\
               bernd@example.de;Bernd;Schmidt, Dr.;1,5\r\n";
    let (fixture, run) = import("liste.csv", csv.as_bytes());
    let run = run.success();
    assert!(run.stderr().contains("liste.csv:4: skipped: \"kaputt\" is not an email address"), "{}", run.stderr());
    assert!(run.stdout().contains("2 added"), "{}", run.stdout());
    assert_eq!(list(&fixture), "anna@example.de\tAnna Müller\nbernd@example.de\tBernd Schmidt, Dr.\n");
}

#[test]
fn an_excel_sep_line_sets_the_delimiter() {
    let (fixture, run) = import("list.csv", b"sep=;\nemail;name\nada@example.com;Lovelace, Ada\n");
    assert!(run.success().stdout().contains("1 added"));
    assert_eq!(list(&fixture), "ada@example.com\tLovelace, Ada\n");
}

#[test]
fn a_tab_separated_file_imports() {
    let tsv = "name\temail\tnote\nAda Lovelace\tada@example.com\ta, b; c\nBad\tbad@@example.com\t\n\t\t\n";
    let (fixture, run) = import("list.tsv", tsv.as_bytes());
    let run = run.success();
    assert!(
        run.stderr().contains("list.tsv:3: skipped: \"bad@@example.com\" is not an email address"),
        "{}",
        run.stderr()
    );
    assert_eq!(run.stderr().lines().count(), 1, "{}", run.stderr());
    assert_eq!(list(&fixture), "ada@example.com\tAda Lovelace\n");
}

#[test]
fn an_excel_unicode_text_export_in_utf16le_imports_with_right_line_numbers() {
    let text = "Email Address\tFirst Name\tNotes\r\nada@example.com\tAda\t\"two\r\nlines\"\r\nnope\tX\t\r\n\
                zoë@example.com\tZoë\t\r\n";
    let (fixture, run) = import("unicode.txt", &utf16(text, false));
    let run = run.success();
    assert!(run.stderr().contains("unicode.txt:4: skipped: \"nope\" is not an email address"), "{}", run.stderr());
    assert!(run.stdout().contains("2 added"), "{}", run.stdout());
    assert_eq!(list(&fixture), "ada@example.com\tAda\nzoë@example.com\tZoë\n");
}

#[test]
fn a_utf16_big_endian_file_imports() {
    let text = "email,name\r\n\"jane@example.com\",\"Doe, Jane\"\r\nx@localhost,X\r\n";
    let (fixture, run) = import("be.csv", &utf16(text, true));
    let run = run.success();
    assert!(run.stderr().contains("be.csv:3: skipped: \"x@localhost\" has no valid domain"), "{}", run.stderr());
    assert_eq!(list(&fixture), "jane@example.com\tDoe, Jane\n");
}

#[test]
fn a_windows_1252_file_imports_with_a_warning() {
    let (fixture, run) = import("latin.csv", b"email;name\r\njose@example.com;Jos\xe9 Mu\xf1oz\r\nbad;Ren\xe9\r\n");
    let run = run.success();
    let err = run.stderr();
    assert!(err.contains("latin.csv: not UTF-8; read as Windows-1252 — save as UTF-8 to be sure"), "{err}");
    assert!(err.contains("latin.csv:3: skipped: \"bad\" is not an email address"), "{err}");
    assert_eq!(list(&fixture), "jose@example.com\tJosé Muñoz\n");
}

#[test]
fn display_name_cells_give_the_address_and_a_missing_name() {
    let csv = "email,name\nJane Doe <jane@example.com>,\n\"\"\"Doe, John\"\" <john@example.com>\",\n\
               <kim@example.com>,Kim Column\n<lee@example.com,\n";
    let (fixture, run) = import("list.csv", csv.as_bytes());
    let run = run.success();
    assert!(
        run.stderr().contains("list.csv:5: skipped: \"<lee@example.com\" has stray angle brackets"),
        "{}",
        run.stderr()
    );
    assert_eq!(
        list(&fixture),
        "jane@example.com\tJane Doe\njohn@example.com\tDoe, John\nkim@example.com\tKim Column\n"
    );
}

#[test]
fn mailto_links_give_the_address() {
    let (fixture, run) =
        import("links.csv", b"Email\nmailto:ada@example.com\nMAILTO:grace%2Bnews@example.org?subject=Hi\n");
    assert!(run.success().stdout().contains("2 added"));
    assert_eq!(list(&fixture), "ada@example.com\t\ngrace+news@example.org\t\n");
}

#[test]
fn headers_match_in_any_case_spacing_and_quoting() {
    let form = "\u{FEFF}Timestamp,\" Email address \",Your name\n2024/03/01 10:00:00,ada@example.com,Ada\n";
    let (fixture, run) = import("form.csv", form.as_bytes());
    assert!(run.success().stdout().contains("1 added"));
    assert_eq!(list(&fixture), "ada@example.com\t\n");
    let (fixture, run) = import("kit.csv", b"first_name,EMAIL_ADDRESS\nGrace,grace@example.org\n");
    assert!(run.success().stdout().contains("1 added"));
    assert_eq!(list(&fixture), "grace@example.org\tGrace\n");
}

#[test]
fn the_column_named_email_wins_over_other_candidates() {
    let csv = "Subscriber Email,Name,Email\nold@example.com,Ada,ada@example.com\n";
    let (fixture, run) = import("list.csv", csv.as_bytes());
    run.success();
    assert_eq!(list(&fixture), "ada@example.com\tAda\n");
}

#[test]
fn an_empty_file_is_refused_naming_it() {
    let (_fixture, run) = import("empty.csv", b"");
    let err = run.failure(1).stderr();
    assert!(err.contains("empty.csv is empty; expected a header row with an email column"), "{err}");
    let (_fixture, run) = import("blank.csv", b"\xEF\xBB\xBF\r\n,,,\r\n");
    assert!(run.failure(1).stderr().contains("blank.csv is empty"));
}

#[test]
fn a_header_only_file_adds_nothing_and_blank_lines_are_silent() {
    let (fixture, run) = import("header.csv", b"email,name\r\n");
    let run = run.success();
    assert!(run.stdout().contains("0 added"), "{}", run.stdout());
    assert_eq!(run.stderr(), "");
    let (fixture2, run) = import("blanks.csv", b"\n\nemail;name\n;\n  ;  \n\nada@example.com;Ada\n;;;;\n");
    let run = run.success();
    assert_eq!(run.stderr(), "");
    assert_eq!(list(&fixture2), "ada@example.com\tAda\n");
    assert_eq!(list(&fixture), "");
}

#[test]
fn a_binary_file_is_refused_and_a_long_line_is_a_bad_row() {
    let (_fixture, run) = import("list.xlsx", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml");
    let err = run.failure(1).stderr();
    assert!(err.contains("list.xlsx is not CSV text: it has NUL bytes"), "{err}");
    let long = "x".repeat(5_000_000);
    let (fixture, run) =
        import("long.csv", format!("email,note\n{long}@example.com,\nada@example.com,{long}\n").as_bytes());
    let run = run.success();
    let err = run.stderr();
    assert!(
        err.contains("long.csv:2: skipped: \"xxx") && err.contains("…\" is longer than 254 bytes"),
        "{}",
        &err[..200]
    );
    assert!(err.len() < 200, "{}", err.len());
    assert!(list(&fixture).starts_with("ada@example.com\t"));
}

#[test]
fn invisible_characters_around_addresses_are_trimmed() {
    let csv = "email,name\n\u{200B}ada@example.com\u{FEFF},Ada\n\u{A0}grace@example.org\u{A0},Grace\n";
    let (fixture, run) = import("list.csv", csv.as_bytes());
    assert!(run.success().stdout().contains("2 added"));
    assert_eq!(list(&fixture), "ada@example.com\tAda\ngrace@example.org\tGrace\n");
}

#[test]
fn malformed_addresses_are_skipped_with_reasons() {
    let long = format!("{}@example.com", "a".repeat(250));
    let csv = format!(
        "email\njane..doe@example.com\njane@example.com.\njane@example\n{long}\nja\u{200B}ne@example.com\njörg@bücher.example\n"
    );
    let (fixture, run) = import("list.csv", csv.as_bytes());
    let run = run.success();
    let err = run.stderr();
    for expected in [
        "list.csv:2: skipped: \"jane..doe@example.com\" has two dots in a row",
        "list.csv:3: skipped: \"jane@example.com.\" has no valid domain: it starts or ends with a dot",
        "list.csv:4: skipped: \"jane@example\" has no valid domain: it has no dot",
        "list.csv:5: skipped: \"aaaa",
        "is longer than 254 bytes",
        "list.csv:6: skipped: \"ja\u{200B}ne@example.com\" contains an invisible character (U+200B)",
    ] {
        assert!(err.contains(expected), "{expected}\n{err}");
    }
    assert!(
        run.stdout().contains("1 added, 0 updated, 0 kept unsubscribed, removed, bounced or complained, 5 bad rows"),
        "{}",
        run.stdout()
    );
    assert_eq!(list(&fixture), "jörg@bücher.example\t\n");
}

/// A bounce report (RFC 3464) as Postfix writes it, for the recipients given
/// as (address, action, status).
fn dsn(recipients: &[(&str, &str, &str)]) -> String {
    let mut blocks = String::new();
    for (address, action, status) in recipients {
        blocks.push_str(&format!(
            "Final-Recipient: rfc822; {address}\r\nAction: {action}\r\nStatus: {status}\r\n\
             Diagnostic-Code: smtp; 550 {status} <{address}>: Recipient address\r\n    rejected\r\n\r\n"
        ));
    }
    format!(
        "From: MAILER-DAEMON@relay.example\r\nSubject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"R\"\r\n\r\n\
         --R\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\r\n\
         --R\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay.example\r\n\r\n{blocks}\
         --R\r\nContent-Type: text/rfc822-headers\r\n\r\nSubject: This Week in Asia #9\r\n\r\n--R--\r\n"
    )
}

#[test]
fn bounce_reports_in_files_mbox_and_maildir_mark_bad_addresses_and_keep_the_rest() {
    let fixture = crate::support::with_subscribers(6);
    let dir = fixture.path().join("bounces");
    std::fs::create_dir_all(dir.join("Maildir/new")).unwrap();
    std::fs::create_dir_all(dir.join("Maildir/cur")).unwrap();
    // One .eml: a bad mailbox, and a full one (kept).
    fixture.write(
        "bounces/one.eml",
        &dsn(&[("reader000@example.com", "failed", "5.1.1"), ("reader001@example.com", "failed", "5.2.2")]),
    );
    // An mbox of two messages: a delay (kept) and a disabled mailbox, in other case.
    let mbox = format!(
        "From MAILER-DAEMON Fri Mar  8 09:00:00 2024\n{}\nFrom MAILER-DAEMON Fri Mar  8 09:05:00 2024\n{}\n",
        dsn(&[("reader002@example.com", "delayed", "4.4.1")]).replace("\r\n", "\n"),
        dsn(&[("READER003@Example.com", "failed", "5.2.1")]).replace("\r\n", "\n"),
    );
    fixture.write("bounces/box.mbox", &mbox);
    // A Maildir: an address never subscribed, and a reply that is no report.
    fixture.write(
        "bounces/Maildir/new/1.host",
        &dsn(&[("stranger@example.com", "failed", "5.1.2"), ("not an address", "failed", "5.1.1")]),
    );
    fixture.write("bounces/Maildir/cur/2.host:2,S", "From: reader@example.com\r\nSubject: Re: hi\r\n\r\nThanks!\r\n");

    let run = fixture.run(&["subscribers", "bounces", dir.to_str().unwrap()]).success();
    let out = run.stdout();
    assert!(
        out.contains("bounced: reader000@example.com (550 5.1.1 <reader000@example.com>: Recipient address rejected)"),
        "{out}"
    );
    assert!(out.contains("bounced: READER003@Example.com"), "{out}");
    assert!(
        out.contains(
            "read 5 messages: 2 marked bounced, 0 complaints, 0 not mailed already, 1 not a subscriber, 2 failures kept"
        ),
        "{out}"
    );
    assert!(out.contains("1 not a bounce report"), "{out}");
    assert!(run.stderr().contains("kept reader001@example.com (failed 550 5.2.2"), "{}", run.stderr());
    assert!(run.stderr().contains("skipped \"not an address\": "), "{}", run.stderr());
    assert!(out.ends_with("4 active subscribers\n"), "{out}");

    let inactive = fixture.run(&["subscribers", "list", "--unsubscribed"]).success().stdout();
    for address in ["reader000@example.com", "reader003@example.com", "stranger@example.com"] {
        let line = inactive.lines().find(|l| l.starts_with(address)).unwrap_or_else(|| panic!("{inactive}"));
        assert!(line.contains("\tbounced\t") && line.ends_with("\tdsn"), "{line}");
    }
    // Read again: nothing changes; re-imported: the bounced stay out.
    let again = fixture.run(&["subscribers", "bounces", dir.to_str().unwrap()]).success().stdout();
    assert!(again.contains("0 marked bounced, 0 complaints, 3 not mailed already, 0 not subscribers"), "{again}");
    let csv = crate::support::subscribers_csv(fixture.path(), 6);
    fixture.run(&["subscribers", "import", csv.to_str().unwrap()]).success();
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "4");
}

#[test]
fn bounces_from_a_missing_path_name_it() {
    let fixture = Fixture::reference();
    let run = fixture.run(&["subscribers", "bounces", "no-such-folder"]).failure(1);
    assert!(run.stderr().contains("cannot read no-such-folder"), "{}", run.stderr());
}

/// Imports `tests/fixtures/imports/NAME`, an export shaped as its service writes it.
fn import_export(fixture: &Fixture, name: &str) -> Run {
    let relative = format!("tests/fixtures/imports/{name}");
    fixture.copy_from_repo(&relative);
    fixture.run(&["subscribers", "import", fixture.path().join(relative).to_str().unwrap()])
}

/// The addresses `publish issue 9` mails, read from the outbox it writes.
fn mailed_by_issue_9(fixture: &Fixture) -> Vec<String> {
    fixture.run(&["issue", "9"]).success();
    let mut to: Vec<String> = std::fs::read_dir(fixture.path().join("out/outbox/9"))
        .unwrap()
        .map(|entry| {
            let eml = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let line = eml.lines().find(|l| l.starts_with("To: ")).unwrap().to_string();
            let address = line.rsplit_once('<').map_or(&line[4..], |(_, a)| a.trim_end_matches('>'));
            address.to_string()
        })
        .collect();
    to.sort();
    to
}

/// `subscribers list --unsubscribed` as (address, status, source) per line.
fn not_mailed(fixture: &Fixture) -> Vec<(String, String, String)> {
    let out = fixture.run(&["subscribers", "list", "--unsubscribed"]).success().stdout();
    let mut rows: Vec<(String, String, String)> = out
        .lines()
        .map(|l| {
            let cells: Vec<&str> = l.split('\t').collect();
            (cells[0].to_string(), cells[1].to_string(), cells[3].to_string())
        })
        .collect();
    rows.sort();
    rows
}

/// (status, status_at, status_by, status_reason) of `email` in the state database.
fn record(fixture: &Fixture, email: &str) -> (String, String, String, String) {
    let db = rusqlite::Connection::open(fixture.path().join(".publish/state.db")).unwrap();
    db.query_row("SELECT status, status_at, status_by, status_reason FROM subscribers WHERE email = ?1", [email], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })
    .unwrap()
}

fn strings(rows: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    rows.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect()
}

#[test]
fn mailchimp_unsubscribed_and_cleaned_exports_stop_the_mail_and_a_later_list_does_not_restart_it() {
    let fixture = Fixture::reference();
    let run = import_export(&fixture, "mailchimp-subscribed.csv").success();
    assert!(run.stdout().contains("3 added"), "{}", run.stdout());

    let run = import_export(&fixture, "mailchimp-unsubscribed.csv").success();
    let out = run.stdout();
    assert!(
        out.contains(
            "mailchimp-unsubscribed.csv:2: ada@example.com was subscribed, now unsubscribed (Mailchimp UNSUB_REASON \
             \"I no longer want to receive these emails\", UNSUB_CAMPAIGN_TITLE \"This Week in Asia #8\")"
        ),
        "{out}"
    );
    assert!(out.contains("mailchimp-unsubscribed.csv (a Mailchimp export): 0 added, 0 updated"), "{out}");
    assert!(
        out.contains(
            "not to be mailed: 3 unsubscribed, 0 bounced, 1 complained, 0 removed \
             (3 recorded, 1 subscribed until now, 0 not mailed already)"
        ),
        "{out}"
    );
    assert!(out.ends_with("2 active subscribers\n"), "{out}");
    assert_eq!(run.stderr(), "");

    let out = import_export(&fixture, "mailchimp-cleaned.csv").success().stdout();
    assert!(out.contains("mailchimp-cleaned.csv:2: bob@example.org was subscribed, now bounced"), "{out}");
    assert!(out.contains("not to be mailed: 0 unsubscribed, 2 bounced"), "{out}");

    // Each is recorded with when they left, the file and line, and the reason given.
    assert_eq!(
        record(&fixture, "dave@example.net"),
        (
            "complained".into(),
            "2024-02-13T09:14:27Z".into(),
            "import:mailchimp-unsubscribed.csv:4".into(),
            "Mailchimp UNSUB_REASON \"The emails are spam and should be reported\", UNSUB_CAMPAIGN_TITLE \
             \"This Week in Asia #7\""
                .into()
        )
    );
    assert_eq!(
        record(&fixture, "erin@example.net").3,
        "Mailchimp UNSUB_REASON \"Other\", UNSUB_REASON_OTHER \"Too many emails, sorry\", UNSUB_CAMPAIGN_TITLE \
         \"This Week in Asia #8\""
    );
    assert_eq!(
        record(&fixture, "frank@example.invalid"),
        (
            "bounced".into(),
            "2023-10-06T07:30:22Z".into(),
            "import:mailchimp-cleaned.csv:3".into(),
            "Mailchimp CLEAN_TIME \"2023-10-06 07:30:22\", CLEAN_CAMPAIGN_TITLE \"This Week in Asia #4\"".into()
        )
    );
    assert_eq!(mailed_by_issue_9(&fixture), ["grace@example.com"]);

    // The plain list they once were on, with one new reader: only the new one joins.
    fixture.write(
        "old-list.csv",
        "email,name\nada@example.com,Ada\nbob@example.org,Bob\ncarol@example.net,Carol\ndave@example.net,Dave\n\
         erin@example.net,Erin\nfrank@example.invalid,Frank\ngrace@example.com,Grace\nhal@example.com,Hal\n",
    );
    let path = fixture.path().join("old-list.csv");
    let out = fixture.run(&["subscribers", "import", path.to_str().unwrap()]).success().stdout();
    assert!(
        out.contains("1 added, 1 updated, 6 kept unsubscribed, removed, bounced or complained, 0 bad rows"),
        "{out}"
    );
    assert_eq!(list(&fixture), "grace@example.com\tGrace\nhal@example.com\tHal\n");
    assert_eq!(not_mailed(&fixture).len(), 6);
    // And a second import of the unsubscribed export changes nothing.
    let out = import_export(&fixture, "mailchimp-unsubscribed.csv").success().stdout();
    assert!(out.contains("(0 recorded, 0 subscribed until now, 4 not mailed already)"), "{out}");
}

#[test]
fn substack_readers_with_email_disabled_are_unsubscribed() {
    let fixture = Fixture::reference();
    let out = import_export(&fixture, "substack.csv").success().stdout();
    assert!(out.contains("substack.csv (a Substack export): 2 added"), "{out}");
    assert!(out.contains("not to be mailed: 2 unsubscribed, 0 bounced, 0 complained, 0 removed"), "{out}");
    assert_eq!(list(&fixture), "ada@example.com\t\nbob@example.org\t\n");
    assert_eq!(
        not_mailed(&fixture),
        strings(&[
            ("carol@example.net", "unsubscribed", "import:substack.csv:4"),
            ("dave@example.net", "unsubscribed", "import:substack.csv:5"),
        ])
    );
    assert_eq!(record(&fixture, "dave@example.net").3, "Substack email_disabled \"true\"");
}

#[test]
fn ghost_members_not_subscribed_to_emails_are_unsubscribed() {
    let fixture = Fixture::reference();
    let out = import_export(&fixture, "ghost.csv").success().stdout();
    assert!(out.contains("ghost.csv (a Ghost export): 2 added"), "{out}");
    assert_eq!(list(&fixture), "ada@example.com\tAda Lovelace\ncarol@example.net\t\n");
    assert_eq!(not_mailed(&fixture), strings(&[("bob@example.org", "unsubscribed", "import:ghost.csv:3")]));
}

#[test]
fn listmonk_blocklisted_subscribers_are_unsubscribed_and_disabled_ones_kept_out() {
    let fixture = Fixture::reference();
    let run = import_export(&fixture, "listmonk.csv").success();
    let out = run.stdout();
    assert!(out.contains("listmonk.csv (a listmonk export): 1 added"), "{out}");
    assert!(
        out.contains("kept out, neither imported nor recorded: 0 with a status not known, 1 not confirmed or on hold"),
        "{out}"
    );
    assert!(
        run.stderr().contains(
            "listmonk.csv:4: kept out: carol@example.net: listmonk status \"disabled\": disabled, neither enabled \
             nor blocklisted; enable them in listmonk and export again if they should get the newsletter"
        ),
        "{}",
        run.stderr()
    );
    assert_eq!(list(&fixture), "ada@example.com\tAda Lovelace\n");
    // Kept out is not recorded: a later list with them adds them.
    assert_eq!(not_mailed(&fixture), strings(&[("bob@example.org", "unsubscribed", "import:listmonk.csv:3")]));
}

#[test]
fn kit_cancelled_bounced_and_complained_are_not_mailed_and_unknown_states_are_kept_out() {
    let fixture = Fixture::reference();
    // Frank was a subscriber before; an unknown state changes nothing about him.
    fixture.write("before.csv", "email,name\nfrank@example.com,Frank\nbob@example.org,Bob\n");
    fixture.run(&["subscribers", "import", fixture.path().join("before.csv").to_str().unwrap()]).success();
    let run = import_export(&fixture, "kit.csv").success();
    let (out, err) = (run.stdout(), run.stderr());
    assert!(
        out.contains("kit.csv:3: bob@example.org was subscribed, now unsubscribed (Kit state \"cancelled\")"),
        "{out}"
    );
    assert!(
        out.contains("not to be mailed: 1 unsubscribed, 1 bounced, 1 complained, 0 removed (2 recorded, 1 subscribed"),
        "{out}"
    );
    assert!(
        out.contains("kept out, neither imported nor recorded: 1 with a status not known, 1 not confirmed or on hold"),
        "{out}"
    );
    assert!(
        err.contains(
            "kit.csv:6: kept out: erin@example.net: Kit state \"inactive\": not confirmed yet; import them again \
             once they have confirmed"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "kit.csv:7: kept out: frank@example.com: Kit state \"paused\" is not a status Masthead knows (active, \
             inactive, cancelled, bounced, complained); check them in Kit, and if they should get the newsletter, \
             import them with one of those values"
        ),
        "{err}"
    );
    assert_eq!(
        not_mailed(&fixture),
        strings(&[
            ("bob@example.org", "unsubscribed", "import:kit.csv:3"),
            ("carol@example.net", "bounced", "import:kit.csv:4"),
            ("dave@example.net", "complained", "import:kit.csv:5"),
        ])
    );
    assert_eq!(mailed_by_issue_9(&fixture), ["ada@example.com", "frank@example.com"]);
}

#[test]
fn buttondown_unsubscribed_removed_undeliverable_and_complained_types_are_not_mailed() {
    let fixture = Fixture::reference();
    let run = import_export(&fixture, "buttondown.csv").success();
    let out = run.stdout();
    assert!(out.contains("buttondown.csv (a Buttondown export): 2 added"), "{out}");
    assert!(out.contains("not to be mailed: 1 unsubscribed, 1 bounced, 1 complained, 1 removed"), "{out}");
    assert!(
        run.stderr()
            .contains("buttondown.csv:8: kept out: gus@example.com: Buttondown subscriber_type \"unactivated\""),
        "{}",
        run.stderr()
    );
    assert_eq!(list(&fixture), "ada@example.com\t\nbob@example.org\t\n");
    assert_eq!(
        not_mailed(&fixture),
        strings(&[
            ("carol@example.net", "unsubscribed", "import:buttondown.csv:4"),
            ("dave@example.net", "bounced", "import:buttondown.csv:5"),
            ("erin@example.net", "complained", "import:buttondown.csv:6"),
            ("frank@example.com", "removed", "import:buttondown.csv:7"),
        ])
    );
    // When they unsubscribed comes from the file; without a date, the import's time.
    assert_eq!(record(&fixture, "carol@example.net").1, "2024-02-18T17:09:32.596959Z");
    assert_eq!(record(&fixture, "dave@example.net").1, "2024-03-01T01:00:00Z");
}

#[test]
fn a_list_with_a_state_column_of_places_imports_everyone() {
    let (fixture, run) =
        import("list.csv", b"Email Address,First Name,State\nada@example.com,Ada,CA\nbob@example.org,Bob,NY\n");
    let run = run.success();
    assert!(run.stdout().contains("2 added"), "{}", run.stdout());
    assert!(run.stderr().contains("column \"State\" holds none of Kit's subscriber states"), "{}", run.stderr());
    assert_eq!(list(&fixture), "ada@example.com\tAda\nbob@example.org\tBob\n");
}

/// A feedback loop's spam report (ARF, RFC 5965) about `to`, for issue 9.
fn arf(to: &str) -> String {
    format!(
        "From: feedback@arf.mail.yahoo.com\r\nSubject: FW: This Week in Asia #9\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\r\n\r\n\
         --F\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report.\r\n\
         --F\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: Yahoo!-Mail-Feedback/2.0\r\nVersion: 1\r\n\
         --F\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: newsletter@analyse.asia\r\nTo: <{to}>\r\n\
         Message-ID: <issue-9.0a1b@analyse.asia>\r\n--F--\r\n"
    )
}

#[test]
fn a_spam_complaint_from_a_feedback_loop_stops_the_mail_and_is_in_the_consent_record() {
    let fixture = crate::support::with_subscribers(3);
    fixture.write("loop/1.eml", &arf("reader001@example.com"));
    let dir = fixture.path().join("loop");
    let run = fixture.run(&["subscribers", "bounces", dir.to_str().unwrap()]).success();
    assert!(
        run.stdout().contains("complained: reader001@example.com (abuse report from a feedback loop)"),
        "{}",
        run.stdout()
    );
    assert!(run.stdout().contains("1 complaint,"), "{}", run.stdout());
    let shown = fixture.run(&["subscribers", "show", "reader001@example.com"]).success().stdout();
    assert!(shown.contains("complained") && shown.contains("arf"), "{shown}");
    fixture.run(&["issue", "9"]).success();
    let sent: Vec<String> = std::fs::read_dir(fixture.path().join("out/outbox/9"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|f| !f.contains("reader001")), "{sent:?}");
}

#[test]
fn soft_bounces_in_three_issues_in_a_row_mark_an_address_bounced() {
    let fixture = crate::support::with_subscribers(2);
    let nine = crate::support::without_episode(&fixture.read("issues/009.toml"));
    for n in [10, 11] {
        fixture.write(
            &format!("issues/{n:03}.toml"),
            &nine.replace("title = \"China AI dreams of Sora\"", &format!("title = \"Issue {n}\"")),
        );
    }
    let mailbox_full = |n: u32| {
        dsn(&[("reader000@example.com", "failed", "4.2.2")])
            .replace("Subject: This Week in Asia #9\r\n", &format!("Message-ID: <issue-{n}.ab12@analyse.asia>\r\n"))
    };
    let dir = fixture.path().join("dsn");
    for n in [9, 10, 11] {
        fixture.run(&["issue", &n.to_string()]).success();
        fixture.write(&format!("dsn/{n}.eml"), &mailbox_full(n));
        let run = fixture.run(&["subscribers", "bounces", dir.to_str().unwrap()]).success();
        let bounced = run.stdout().contains("bounced: reader000@example.com (soft bounces in three issues in a row");
        assert_eq!(bounced, n == 11, "after issue {n}: {}", run.stdout());
    }
    let list = fixture.run(&["subscribers", "list", "--status", "bounced"]).success().stdout();
    assert!(list.contains("reader000@example.com"), "{list}");
}

#[test]
fn stats_count_what_each_issue_did_to_the_list_and_its_weeks() {
    let fixture = crate::support::with_subscribers(3);
    fixture.run(&["issue", "9"]).success();
    fixture.write("reports/arf.eml", &arf("reader001@example.com"));
    fixture.write("reports/dsn.eml", &dsn(&[("reader000@example.com", "failed", "5.1.1")]));
    let reports = fixture.path().join("reports");
    fixture.run(&["subscribers", "bounces", reports.to_str().unwrap()]).success();
    let substack = fixture.path().join("substack.csv");
    std::fs::write(&substack, "email,active_subscription,expiry,plan,email_disabled,created_at\nreader002@example.com,false,,free,true,2024-01-01T00:00:00.000Z\n").unwrap();
    fixture.run(&["subscribers", "import", substack.to_str().unwrap()]).success();
    let stats: serde_json::Value =
        serde_json::from_str(&fixture.run(&["stats", "9", "--json"]).success().stdout()).unwrap();
    let nine = &stats["issues"][0];
    assert_eq!(nine["issue"], 9);
    assert_eq!(
        (&nine["sent"], &nine["bounced"], &nine["complained"], &nine["unsubscribed"]),
        (&serde_json::json!(3), &serde_json::json!(1), &serde_json::json!(1), &serde_json::json!(1)),
        "{stats}"
    );
    assert_eq!(stats["active"], 0);
    let week =
        stats["weeks"].as_array().unwrap().iter().find(|w| w["week"] == "2024-W09").expect("the week of 1 March 2024");
    assert_eq!((&week["joined"], &week["left"]), (&serde_json::json!(3), &serde_json::json!(3)), "{stats}");
    let table = fixture.run(&["stats"]).success().stdout();
    assert!(table.contains("#9") && table.contains("2024-W09"), "{table}");
}

/// The import reads a file in chunks, never whole: line numbers, the
/// de-duplication across the whole file and the status rule must hold across
/// chunk ends (the file here is several read buffers long).
#[test]
fn a_streamed_import_keeps_line_numbers_and_lets_a_late_refusal_win_over_an_early_row() {
    let mut csv = String::from("email,first_name,email_disabled\r\n");
    csv += "early@example.com,Early,false\r\n"; // line 2
    csv += "kept@example.com,Kept,\r\n"; // line 3: status not known, kept out
    for n in 0..40_000 {
        csv += &format!("reader{n}@example.com,Reader {n},false\r\n"); // lines 4..=40003
    }
    csv += "EARLY@example.com,Early,true\r\n"; // line 40004: says not to mail
    csv += "not an address,X,false\r\n"; // line 40005
    csv += "reader7@example.com,Again,false\r\n"; // line 40006
    csv += "Kept@example.com,Kept,true\r\n"; // line 40007: replaces the kept-out row
    assert!(csv.len() > 1_000_000, "{}", csv.len());
    let (fixture, run) = import("list.csv", csv.as_bytes());
    let run = run.success();
    let (out, err) = (run.stdout(), run.stderr());
    assert!(err.contains("list.csv:2: skipped: the same address as line 40004"), "{err}");
    assert!(err.contains("list.csv:3: skipped: the same address as line 40007"), "{err}");
    assert!(err.contains("list.csv:40005: skipped: \"not an address\" contains a space"), "{err}");
    assert!(err.contains("list.csv:40006: skipped: the same address as line 11"), "{err}");
    assert!(!err.contains("kept out"), "{err}");
    assert!(out.contains("40000 added, 0 updated"), "{out}");
    assert!(out.contains("not to be mailed: 2 unsubscribed, 0 bounced, 0 complained, 0 removed (2 recorded"), "{out}");
    assert!(out.contains("40000 active subscribers"), "{out}");
    let (status, _, by, _) = record(&fixture, "early@example.com");
    assert_eq!((status.as_str(), by.as_str()), ("unsubscribed", "import:list.csv:40004"));
    // Imported again, nothing changes and every address is known.
    let again = fixture.run(&["subscribers", "import", fixture.path().join("list.csv").to_str().unwrap()]).success();
    assert!(again.stdout().contains("0 added, 40000 updated, 0 kept"), "{}", again.stdout());
    assert!(
        again.stdout().contains("(0 recorded, 0 subscribed until now, 2 not mailed already)"),
        "{}",
        again.stdout()
    );
}

/// Imports `csv` as `list.csv` into a fresh list (written straight into the
/// list) and into one that has a person who left (gathered first): what each
/// says on stdout and stderr, and every record afterwards (the person who
/// left taken out), by address, then the addresses in the list's order.
fn import_both_ways(csv: &str) -> [(String, String, Vec<serde_json::Value>, Vec<String>); 2] {
    let fresh = Fixture::reference();
    let filled = Fixture::reference();
    filled.run(&["subscribers", "remove", "left@elsewhere.example"]).success();
    [fresh, filled].map(|fixture| {
        fixture.write("list.csv", csv);
        let path = fixture.path().join("list.csv");
        let run = fixture.run(&["subscribers", "import", path.to_str().unwrap()]).success();
        let place = |text: String| text.replace(path.to_str().unwrap(), "list.csv");
        let export = fixture.run(&["subscribers", "export", "--format", "json", "--status", "all"]).success().stdout();
        let records: Vec<serde_json::Value> = serde_json::from_str(&export).unwrap();
        let mut records: Vec<serde_json::Value> =
            records.into_iter().filter(|r| r["email"] != "left@elsewhere.example").collect();
        let order: Vec<String> = records.iter().map(|r| r["email"].as_str().unwrap().to_string()).collect();
        records.sort_by_key(|r| r["email"].as_str().unwrap().to_string());
        (place(run.stdout()), place(run.stderr()), records, order)
    })
}

/// Into an empty list the rows are written as they are read, not gathered
/// first: every report, count and record must be what gathering gives, for
/// repeats in every order with refusals, kept-out rows, case variants
/// (Unicode ones too, which SQLite's NOCASE does not fold) and bad rows.
#[test]
fn an_import_into_an_empty_list_reports_and_records_what_a_gathered_import_does() {
    let mailchimp = "\u{FEFF}\"Email Address\",\"First Name\",\"Last Name\",\"MEMBER_RATING\",\"UNSUB_TIME\",\"UNSUB_REASON\",\"CLEAN_TIME\"\r\n\
        ada@example.com,Ada,Lovelace,5,,,\r\n\
        ADA@Example.com,Ada,Again,1,,,\r\n\
        bob@example.com,Bob,B,2,\"2024-02-20 07:31:15\",\"I no longer want to receive these emails\",\r\n\
        Bob@example.com,Bob,Back,3,,,\r\n\
        cat@example.com,Cat,\"two\r\nlines\",1,,,\r\n\
        CAT@example.com,,,1,,,\"2023-10-06 07:30:22\"\r\n\
        cat@example.com,Cat,Back,1,,,\r\n\
        not an address,X,Y,1,,,\r\n\
        dan@localhost,Dan,L,1,,,\r\n\
        dan@example.com,Dan,D,1,\"2024-01-01 00:00:00\",Other,\r\n\
        DAN@example.com,Dan,D,1,,,\"2024-01-02 00:00:00\"\r\n\
        \u{c4}rger@b\u{fc}cher.example,\u{c4}rger,,4,,,\r\n\
        \u{e4}rger@B\u{dc}CHER.example,,,4,\"2024-01-03 00:00:00\",Other,\r\n\
        \u{e4}rger@b\u{fc}cher.example,Back,,4,,,\r\n\
        \u{212a}im@example.com,Kelvin,,1,,,\r\n\
        kim@example.com,Kim,,1,,,\r\n\
        KIM@example.com,,,1,\"2024-01-04 00:00:00\",\"This is spam\",\r\n\
        kay@example.com,Kay,,1,,,\r\n\
        \u{212a}ay@example.com,,,1,\"2024-01-05 00:00:00\",Other,\r\n\
        Kay@example.com,Kay,Back,1,,,\r\n\
        zo\u{eb}@example.com,Zo\u{eb},,1,,,\r\n\
        ZO\u{cb}@example.com,Zo\u{eb},Again,1,,,\r\n\
        eve@example.com,Eve,,1,,,\r\n\
        ,,,,,,\r\n\
        Eve@example.com,,,1,,,\"2024-01-06 00:00:00\"\r\n\
        last@example.com,Last,,1,,,\r\n";
    let buttondown = "email,subscriber_type,notes,creation_date,unsubscription_date\n\
        k1@example.com,unactivated,,2024-01-01,\n\
        K1@example.com,regular,again,2024-01-01,\n\
        k2@example.com,unactivated,,2024-01-01,\n\
        K2@example.com,unsubscribed,,2024-01-01,2024-02-01 10:00:00+00:00\n\
        k2@example.com,regular,back,2024-01-01,\n\
        k3@example.com,regular,\"a, b\",2024-01-01,\n\
        K3@example.com,unactivated,,2024-01-01,\n\
        k4@example.com,undeliverable,,2024-01-01,\n\
        k4@example.com,unactivated,,2024-01-01,\n\
        \u{fc}n\u{ef}@example.com,unactivated,,2024-01-01,\n\
        \u{dc}N\u{cf}@example.com,regular,,2024-01-01,\n\
        \u{212a}k@example.com,blocked,,2024-01-01,\n\
        kk@example.com,regular,,2024-01-01,\n\
        Kk@example.com,complained,,2024-01-01,\n\
        k5@example.com,mystery,,2024-01-01,\n\
        K5@example.com,removed,,2024-01-01,\n\
        bad@@example.com,regular,,2024-01-01,\n\
        k6@example.com,regular,,2024-01-01,\n";
    for csv in [mailchimp, buttondown] {
        let [fresh, filled] = import_both_ways(csv);
        assert_eq!(fresh.0, filled.0, "stdout");
        assert_eq!(fresh.1, filled.1, "stderr");
        assert_eq!(fresh.2, filled.2, "records");
        // The fresh list's ids follow the file, the other's put the people not to mail first.
        assert_ne!(fresh.3, filled.3, "{:?}", fresh.3);
    }
    let [fresh, _] = import_both_ways(mailchimp);
    let (out, err) = (&fresh.0, &fresh.1);
    for note in [
        "list.csv:3: skipped: the same address as line 2",
        "list.csv:5: skipped: the same address as line 4",
        "list.csv:6: skipped: the same address as line 8",
        "list.csv:9: skipped: the same address as line 8",
        "list.csv:13: skipped: the same address as line 12",
        "list.csv:14: skipped: the same address as line 15",
        "list.csv:16: skipped: the same address as line 15",
        "list.csv:17: skipped: the same address as line 19",
        "list.csv:18: skipped: the same address as line 17",
        "list.csv:20: skipped: the same address as line 21",
        "list.csv:22: skipped: the same address as line 21",
        "list.csv:24: skipped: the same address as line 23",
        "list.csv:25: skipped: the same address as line 27",
    ] {
        assert!(err.contains(note), "{note}\n{err}");
    }
    assert!(
        out.contains("3 added, 0 updated, 0 kept unsubscribed, removed, bounced or complained, 2 bad rows"),
        "{out}"
    );
    assert!(out.contains("not to be mailed: 4 unsubscribed, 2 bounced, 1 complained, 0 removed (7 recorded"), "{out}");
}

/// Someone who left under one spelling of their address is not mailed when a
/// later list, a form or the command line writes it in another case or
/// Unicode form (the list compared only ASCII letters without case).
#[test]
fn a_person_who_left_is_not_brought_back_by_another_case_or_unicode_form_of_their_address() {
    let fixture = Fixture::reference();
    fixture.write(
        "unsubscribed.csv",
        "Email Address,UNSUB_TIME\nÄDA@BÜCHER.example,2024-01-01 10:00:00\nben@BÜCHER.example,2024-01-01 10:00:00\n",
    );
    import_export_file(&fixture, "unsubscribed.csv");
    fixture.write(
        "later.csv",
        "email\näda@bücher.example\nÄda@Bücher.EXAMPLE\na\u{308}da@bu\u{308}cher.example\n\
         ben@xn--bcher-kva.example\nBen@Bücher.example\ngrace@example.com\n",
    );
    let out = import_export_file(&fixture, "later.csv");
    assert!(out.contains("1 added, 0 updated, 2 kept unsubscribed"), "{out}");
    let run = fixture.run(&["subscribers", "add", "äDA@bücher.example", "--confirmed"]).success();
    assert!(run.stdout().contains("already on the list"), "{}", run.stdout());
    assert_eq!(mailed_by_issue_9(&fixture), ["grace@example.com"]);
    assert_eq!(
        not_mailed(&fixture),
        strings(&[
            ("ben@xn--bcher-kva.example", "unsubscribed", "import:unsubscribed.csv:3"),
            ("äda@bücher.example", "unsubscribed", "import:unsubscribed.csv:2")
        ])
    );
}

/// Imports the file `name` of the fixture's folder; its stdout.
fn import_export_file(fixture: &Fixture, name: &str) -> String {
    fixture.run(&["subscribers", "import", fixture.path().join(name).to_str().unwrap()]).success().stdout()
}

/// Beehiiv's export says who unsubscribed only by `status` "inactive" (and
/// holds back the ones still validating): they were imported as readers.
#[test]
fn a_beehiiv_export_keeps_inactive_readers_from_the_mail_and_a_later_list_does_not_restart_them() {
    let fixture = Fixture::reference();
    fixture.write(
        "beehiiv.csv",
        "email,status,tier,created_at,utm_source\r\n\
         ann@example.com,active,free,2024-01-01 10:00:00 UTC,x\r\n\
         ben@example.com,inactive,free,2024-01-02 10:00:00 UTC,\r\n\
         cat@example.com,validating,free,2024-01-03 10:00:00 UTC,\r\n",
    );
    let run = fixture.run(&["subscribers", "import", fixture.path().join("beehiiv.csv").to_str().unwrap()]).success();
    assert!(run.stdout().contains("beehiiv.csv (read by its status column): 1 added"), "{}", run.stdout());
    assert!(run.stderr().contains("beehiiv.csv:4: kept out: cat@example.com: the file's status \"validating\""));
    fixture.write("later.csv", "email\nBEN@example.com\nann@example.com\n");
    import_export_file(&fixture, "later.csv");
    assert_eq!(mailed_by_issue_9(&fixture), ["ann@example.com"]);
    assert_eq!(not_mailed(&fixture), strings(&[("ben@example.com", "unsubscribed", "import:beehiiv.csv:3")]));
}

/// `subscribers export` imports back as it was: every field (also one named
/// as a column of the export, and those of people who left), how and when
/// each person joined and every event of their consent record; into an
/// empty list and into one with people (each path of the import).
#[test]
fn our_export_imports_back_with_every_field_and_consent_record() {
    let fixture = Fixture::reference();
    fixture.write("list.csv", "email,name,city,status\nada@example.com,Ada,Paris,VIP\nbob@example.com,Bob,Rome,\n");
    import_export_file(&fixture, "list.csv");
    fixture.run(&["subscribers", "add", "cy@example.com", "--name", "Cy", "--confirmed"]).success();
    fixture.run(&["subscribers", "remove", "bob@example.com"]).success();
    let export = fixture.run(&["subscribers", "export", "--status", "all"]).success().stdout();
    assert!(export.starts_with("email,name,status,joined_by,consent,city,field:status\n"), "{export}");

    let empty = Fixture::reference();
    empty.write("export.csv", &export);
    let out = import_export_file(&empty, "export.csv");
    assert!(out.contains("2 added") && out.contains("1 removed"), "{out}");
    assert_eq!(empty.run(&["subscribers", "export", "--status", "all"]).success().stdout(), export);

    let busy = Fixture::reference();
    busy.run(&["subscribers", "add", "zed@example.com", "--confirmed"]).success();
    busy.write("export.csv", &export);
    import_export_file(&busy, "export.csv");
    let again = busy.run(&["subscribers", "export", "--status", "all"]).success().stdout();
    let mut again: Vec<&str> = again.lines().filter(|l| !l.starts_with("zed@")).collect();
    let mut export: Vec<&str> = export.lines().collect();
    again.sort();
    export.sort();
    assert_eq!(again, export);
    let shown = busy.run(&["subscribers", "show", "bob@example.com"]).success().stdout();
    assert!(shown.contains("removed  cli"), "{shown}");
}

/// Several imports started at once on a new publication (its state not yet
/// created) all land, whatever order they take: the schema was created by
/// each of them at once, and all but one failed ("table subscribers already
/// exists"). Whoever one file says left is not mailed, before or after the
/// list that has them.
#[test]
fn imports_started_at_once_on_a_new_publication_all_land() {
    let fixture = Fixture::reference();
    assert!(!fixture.path().join(".publish/state.db").exists());
    for part in 0..3 {
        let rows: String = (0..2000).map(|n| format!("p{part}n{n}@example.com,Reader {n}\n")).collect();
        fixture.write(&format!("part{part}.csv"), &format!("email,name\n{rows}"));
    }
    fixture.write("left.csv", "Email Address,UNSUB_TIME\np1n7@example.com,2024-01-01 10:00:00\n");
    let children: Vec<_> = ["part0.csv", "part1.csv", "part2.csv", "left.csv"]
        .iter()
        .map(|file| fixture.command(&["subscribers", "import", fixture.path().join(file).to_str().unwrap()]).spawn())
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout(), "5999\n");
    assert_eq!(not_mailed(&fixture), strings(&[("p1n7@example.com", "unsubscribed", "import:left.csv:2")]));
}

/// Every text of the state database (each table's every column), lowercased.
fn state_text(fixture: &Fixture) -> String {
    let db = rusqlite::Connection::open(fixture.path().join(".publish/state.db")).unwrap();
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut text = String::new();
    for table in tables {
        let mut stmt = db.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                if let Ok(value) = row.get::<_, String>(i) {
                    text.push_str(&value.to_lowercase());
                    text.push('\n');
                }
            }
        }
    }
    text
}

/// `forget` leaves only the keyed hash: not the address in the ledger's
/// replies (the outbox's and servers' name it), in the soft bounces, or in
/// the messages the outbox kept.
#[test]
fn forget_leaves_the_address_nowhere_in_the_state_or_the_outbox() {
    let fixture = Fixture::reference();
    fixture.write("list.csv", "email,name\nAda.Lovelace@Example.com,Ada\nbob@example.com,Bob\n");
    import_export_file(&fixture, "list.csv");
    fixture.run(&["issue", "9"]).success();
    let report = dsn(&[("ada.lovelace@example.com", "failed", "4.2.2")])
        .replace("Subject: This Week in Asia #9\r\n", "Message-ID: <issue-9.ab12@analyse.asia>\r\n");
    fixture.write("dsn/9.eml", &report);
    fixture.run(&["subscribers", "bounces", fixture.path().join("dsn").to_str().unwrap()]).success();
    assert!(state_text(&fixture).contains("ada.lovelace@example.com"));

    let run = fixture.run(&["subscribers", "forget", "ada.lovelace@example.com"]).success();
    assert!(run.stdout().contains("deleted the 1 message to them kept in out/outbox"), "{}", run.stdout());
    let state = state_text(&fixture);
    assert!(!state.contains("ada.lovelace") && !state.contains("ada"), "{state}");
    assert!(state.contains("bob@example.com"), "the others stay");
    let kept: Vec<String> = std::fs::read_dir(fixture.path().join("out/outbox/9"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(kept, ["000002-bob@example.com.eml"]);
    let status = fixture.run(&["status", "9"]).success().stdout();
    assert!(status.contains("sent:     2"), "the ledger still counts them: {status}");
}

/// A forgotten address stays forgotten in every case, Unicode and IDN form
/// of it: a list, the command line.
#[test]
fn a_forgotten_address_is_not_imported_again_in_another_form() {
    let fixture = Fixture::reference();
    fixture.run(&["subscribers", "forget", "Ada@Bücher.example"]).success();
    fixture.run(&["subscribers", "forget", "jörg@bücher.example"]).success();
    fixture.write("list.csv", "email\nada@xn--bcher-kva.example\nJÖRG@XN--BCHER-KVA.example\ngrace@example.com\n");
    let out = import_export_file(&fixture, "list.csv");
    assert!(out.contains("1 added") && out.contains("left out: 2 forgotten addresses"), "{out}");
    let run = fixture.run(&["subscribers", "add", "ADA@xn--bcher-kva.example", "--confirmed"]).failure(1);
    assert!(run.stderr().contains("forgotten"), "{}", run.stderr());
    assert_eq!(list(&fixture), "grace@example.com\t\n");
}

/// An import into an empty list has the database out of WAL mode while it
/// runs; a command opening the state then ("cannot use WAL mode: database is
/// locked", at once) waits for the import instead, and sees all of it or none.
#[test]
fn commands_opening_the_state_while_an_import_fills_an_empty_list_wait_for_it() {
    let fixture = Fixture::reference();
    fixture.run(&["subscribers", "count"]).success();
    let rows: String = (0..20_000).map(|n| format!("r{n}@example.com,Reader {n}\n")).collect();
    fixture.write("list.csv", &format!("email,name\n{rows}"));
    let import = fixture.command(&["subscribers", "import", fixture.path().join("list.csv").to_str().unwrap()]).spawn();
    let counts: Vec<_> = (0..8)
        .map(|n| {
            std::thread::sleep(std::time::Duration::from_millis(10 * n));
            let mut cmd = fixture.command(&["subscribers", "count"]).0;
            cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap()
        })
        .collect();
    for child in counts {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let count = String::from_utf8_lossy(&output.stdout).trim().to_string();
        assert!(count == "0" || count == "20000", "all of the import or none: {count}");
    }
    let output = import.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout(), "20000\n");
}

#[test]
fn counts_of_one_are_said_in_the_singular() {
    let fixture = crate::support::with_subscribers(2);
    fixture.write("loop/1.eml", &arf("reader001@example.com"));
    let dir = fixture.path().join("loop");
    let out = fixture.run(&["subscribers", "bounces", dir.to_str().unwrap()]).success().stdout();
    assert!(out.contains("read 1 message: 0 marked bounced, 1 complaint, 0 not mailed already"), "{out}");
    assert!(out.ends_with("\n1 active subscriber\n"), "{out}");
    fixture.write("one.csv", "email\nnew@example.com\n");
    fixture.run(&["subscribers", "remove", "reader000@example.com"]).success();
    let out = fixture.run(&["subscribers", "import", fixture.path().join("one.csv").to_str().unwrap()]).success();
    assert!(out.stdout().ends_with("\n1 active subscriber\n"), "{}", out.stdout());
    let stats = fixture.run(&["stats"]).success().stdout();
    assert!(stats.ends_with("\n1 active subscriber\n"), "{stats}");
}
