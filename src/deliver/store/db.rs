//! The two databases the store runs on, behind one small interface: SQL text
//! with numbered parameters (`$1`, `$2`, …) and rows of plain values.
//!
//! One SQL text serves both where the dialects agree (most queries: `ON
//! CONFLICT`, `RETURNING`, `UPDATE … FROM`, `IS DISTINCT FROM`); SQLite gets
//! `$N` rewritten to `?N` so that a parameter may appear out of order.

use std::collections::HashMap;

use anyhow::{Context, Result};
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};

/// A parameter or a column value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Bool(bool),
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Value {
        Value::Int(v.into())
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::Int(v as i64)
    }
}
impl From<usize> for Value {
    fn from(v: usize) -> Value {
        Value::Int(v as i64)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_string())
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(v.clone())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}
impl From<&Option<String>> for Value {
    fn from(v: &Option<String>) -> Value {
        v.as_deref().into()
    }
}

/// `args![a, b, c]`: the parameters of one statement.
macro_rules! args {
    ($($e:expr),* $(,)?) => { &[$($crate::deliver::store::db::Value::from($e)),*][..] };
}
pub(crate) use args;

/// One result row.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Value>);

impl Row {
    pub fn int(&self, i: usize) -> i64 {
        self.opt_int(i).unwrap_or(0)
    }

    pub fn opt_int(&self, i: usize) -> Option<i64> {
        match &self.0[i] {
            Value::Int(v) => Some(*v),
            Value::Bool(b) => Some(i64::from(*b)),
            Value::Text(t) => t.parse().ok(),
            Value::Null => None,
        }
    }

    pub fn text(&self, i: usize) -> String {
        self.opt_text(i).unwrap_or_default()
    }

    pub fn opt_text(&self, i: usize) -> Option<String> {
        match &self.0[i] {
            Value::Text(t) => Some(t.clone()),
            Value::Int(v) => Some(v.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null => None,
        }
    }

    pub fn bool(&self, i: usize) -> bool {
        self.int(i) != 0
    }
}

/// Which database a [`Conn`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// An open connection.
pub enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres { client: Box<postgres::Client>, statements: HashMap<String, postgres::Statement> },
}

impl Conn {
    pub fn dialect(&self) -> Dialect {
        match self {
            Conn::Sqlite(_) => Dialect::Sqlite,
            Conn::Postgres { .. } => Dialect::Postgres,
        }
    }

    /// Runs one statement; how many rows it changed.
    pub fn execute(&mut self, sql: &str, args: &[Value]) -> Result<u64> {
        match self {
            Conn::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(&sqlite_text(sql))?;
                Ok(stmt.execute(rusqlite::params_from_iter(args.iter()))? as u64)
            }
            Conn::Postgres { client, statements } => {
                let stmt = prepared(client, statements, sql)?;
                let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
                client.execute(&stmt, &params).with_context(|| first_line(sql))
            }
        }
    }

    /// Runs one query; every row.
    pub fn query(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>> {
        match self {
            Conn::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(&sqlite_text(sql))?;
                let width = stmt.column_count();
                let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    let mut values = Vec::with_capacity(width);
                    for i in 0..width {
                        values.push(match row.get_ref(i)? {
                            rusqlite::types::ValueRef::Null => Value::Null,
                            rusqlite::types::ValueRef::Integer(v) => Value::Int(v),
                            rusqlite::types::ValueRef::Real(v) => Value::Text(v.to_string()),
                            rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                                Value::Text(String::from_utf8_lossy(t).into_owned())
                            }
                        });
                    }
                    out.push(Row(values));
                }
                Ok(out)
            }
            Conn::Postgres { client, statements } => {
                let stmt = prepared(client, statements, sql)?;
                let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
                let rows = client.query(&stmt, &params).with_context(|| first_line(sql))?;
                rows.iter().map(pg_row).collect()
            }
        }
    }

    /// The first row, if any.
    pub fn query_opt(&mut self, sql: &str, args: &[Value]) -> Result<Option<Row>> {
        Ok(self.query(sql, args)?.into_iter().next())
    }

    /// The first row; an error when there is none.
    pub fn query_one(&mut self, sql: &str, args: &[Value]) -> Result<Row> {
        self.query_opt(sql, args)?.with_context(|| format!("no row from {}", first_line(sql)))
    }

    /// Runs a script of statements without parameters.
    pub fn batch(&mut self, sql: &str) -> Result<()> {
        match self {
            Conn::Sqlite(conn) => conn.execute_batch(sql)?,
            Conn::Postgres { client, .. } => client.batch_execute(sql)?,
        }
        Ok(())
    }

    /// Starts a transaction that writes (SQLite takes its write lock at once).
    pub fn begin(&mut self) -> Result<()> {
        match self.dialect() {
            Dialect::Sqlite => self.control("BEGIN IMMEDIATE"),
            Dialect::Postgres => self.batch("BEGIN"),
        }
    }

    pub fn commit(&mut self) -> Result<()> {
        self.control("COMMIT")
    }

    pub fn rollback(&mut self) -> Result<()> {
        self.control("ROLLBACK")
    }

    /// A transaction's start or end: on SQLite a statement prepared once per
    /// connection (a send commits once or more per message; parsing the same
    /// word each time was a tenth of its ledger's work).
    fn control(&mut self, sql: &str) -> Result<()> {
        match self {
            Conn::Sqlite(conn) => {
                conn.prepare_cached(sql)?.execute([])?;
                Ok(())
            }
            Conn::Postgres { .. } => self.batch(sql),
        }
    }
}

/// `$N` → `?N`, so that SQLite binds by number whatever the order of first use.
pub(super) fn sqlite_text(sql: &str) -> String {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut from = 0;
    for at in memchr::memchr_iter(b'$', bytes) {
        if bytes.get(at + 1).is_some_and(u8::is_ascii_digit) {
            out.push_str(&sql[from..at]);
            out.push('?');
            from = at + 1;
        }
    }
    out.push_str(&sql[from..]);
    out
}

fn first_line(sql: &str) -> String {
    let line = sql.trim().lines().next().unwrap_or_default();
    format!("in the query \"{}\"", line.trim())
}

fn prepared(
    client: &mut postgres::Client,
    statements: &mut HashMap<String, postgres::Statement>,
    sql: &str,
) -> Result<postgres::Statement> {
    if let Some(stmt) = statements.get(sql) {
        return Ok(stmt.clone());
    }
    let stmt = client.prepare(sql).with_context(|| first_line(sql))?;
    statements.insert(sql.to_string(), stmt.clone());
    Ok(stmt)
}

fn pg_row(row: &postgres::Row) -> Result<Row> {
    let mut values = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let value = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?.map(Value::Int)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?.map(|v| Value::Int(v.into()))
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(i)?.map(|v| Value::Int(v.into()))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)?.map(Value::Bool)
        } else {
            row.try_get::<_, Option<String>>(i)?.map(Value::Text)
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*b))),
            Value::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
        })
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Text(t) => t.as_str().to_sql(ty, out),
            Value::Bool(b) if *ty == Type::BOOL => b.to_sql(ty, out),
            Value::Bool(b) => Value::Int(i64::from(*b)).to_sql(ty, out),
            Value::Int(v) if *ty == Type::INT8 => v.to_sql(ty, out),
            Value::Int(v) if *ty == Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
            Value::Int(v) if *ty == Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
            Value::Int(v) if *ty == Type::BOOL => (*v != 0).to_sql(ty, out),
            Value::Int(v) => v.to_string().as_str().to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        [Type::INT8, Type::INT4, Type::INT2, Type::BOOL].contains(ty) || <&str as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::sqlite_text;

    #[test]
    fn sqlite_text_numbers_each_parameter_and_leaves_other_dollars() {
        assert_eq!(
            sqlite_text("SELECT $2, '$x', 'é$', $10 FROM t WHERE a = $1$"),
            "SELECT ?2, '$x', 'é$', ?10 FROM t WHERE a = ?1$"
        );
        assert_eq!(sqlite_text("SELECT 1"), "SELECT 1");
    }
}
