//! [`Db`]: a connection (or a transaction on it) with the connection's cache
//! of prepared statements, so that a statement is parsed once per connection
//! and each later run costs one round trip.

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{GenericClient, Row, Statement};

/// The prepared statements of one connection, by SQL text.
#[derive(Default)]
pub struct Cache(HashMap<String, Statement>);

/// The most statements a connection keeps prepared (object searches build
/// their SQL from the conditions given, so the set of texts is not fixed).
const CACHE_MAX: usize = 256;

/// Parameters of a statement built at run time.
pub type Params = Vec<Box<dyn ToSql + Sync + Send>>;

/// A client (a connection or a transaction) and its statement cache.
pub struct Db<'a, C: GenericClient> {
    /// The client statements run on.
    pub c: &'a mut C,
    /// The connection's prepared statements.
    pub cache: &'a mut Cache,
}

impl<C: GenericClient> Db<'_, C> {
    /// The prepared statement of `sql`, preparing it on first use.
    fn stmt(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.cache.0.get(sql) {
            return Ok(s.clone());
        }
        let s = self.c.prepare(sql)?;
        if self.cache.0.len() >= CACHE_MAX {
            self.cache.0.clear();
        }
        self.cache.0.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    /// Runs `sql`, returning the rows.
    pub fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, postgres::Error> {
        let s = self.stmt(sql)?;
        self.c.query(&s, params)
    }

    /// Runs `sql`, returning its row if there is one.
    pub fn query_opt(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, postgres::Error> {
        let s = self.stmt(sql)?;
        self.c.query_opt(&s, params)
    }

    /// Runs `sql`, returning its one row.
    pub fn query_one(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, postgres::Error> {
        let s = self.stmt(sql)?;
        self.c.query_one(&s, params)
    }

    /// Runs `sql`, returning how many rows it changed.
    pub fn execute(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        let s = self.stmt(sql)?;
        self.c.execute(&s, params)
    }

    /// Runs `sql` with parameters built at run time.
    pub fn query_dyn(&mut self, sql: &str, params: &Params) -> Result<Vec<Row>, postgres::Error> {
        let refs: Vec<&(dyn ToSql + Sync)> = params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect();
        self.query(sql, &refs)
    }
}
