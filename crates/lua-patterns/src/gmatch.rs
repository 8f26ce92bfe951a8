//! `string.gmatch`: the iteration state and one step of the iterator (`gmatch_aux`).

use crate::captures::Match;
use crate::dialect::Dialect;
use crate::error::MatchError;
use crate::interrupt::Interrupt;
use crate::matcher::{MatchState, NO_MATCH, effective_pattern};

/// The state a gmatch iterator keeps between calls: plain data (`Copy`, no destructor), for
/// the glue to store in the iterator closure's upvalue or userdata.
///
/// Lua 5.1, 5.2, LuaJIT and Luau keep only the next start offset, and step one byte past
/// an empty match.  Lua 5.3.6+ keep the next start and the end of the last match
/// (`lastmatch`) and reject an empty match that ends there.  A leading `^` is never an
/// anchor in gmatch: it matches a literal `^` (every version).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GmatchState {
    /// Offset where the next search starts (`gm->src`, or the integer upvalue).
    pub src: usize,
    /// End offset of the last match (`gm->lastmatch`; unused before 5.3.6).
    pub lastmatch: Option<usize>,
}

impl GmatchState {
    /// The state `string.gmatch(s, p [, init])` creates for a subject of `len` bytes.
    /// `init` (the `luaL_optinteger` value) counts only where the dialect has it (5.4+);
    /// elsewhere pass anything, it is ignored like the extra argument in C.
    pub fn new(dialect: Dialect, len: usize, init: Option<i64>) -> Self {
        let src = match (dialect.gmatch_has_init(), init) {
            (true, Some(pos)) => {
                // posrelatI(init, ls) - 1, then "start after string's end?" -> ls + 1
                let len_i = len as i128;
                let pos = pos as i128;
                let p = if pos > 0 {
                    pos
                } else if pos == 0 || pos < -len_i {
                    1
                } else {
                    len_i + pos + 1
                };
                let init = p - 1;
                if init > len_i { len + 1 } else { init as usize }
            }
            _ => 0,
        };
        GmatchState {
            src,
            lastmatch: None,
        }
    }

    /// One call of the iterator: the next match, or `None` when there is none (the
    /// iterator returns nothing).  The state is updated only when a match is found, like
    /// the C code; after an error the state is unchanged.
    pub fn next<I: Interrupt + ?Sized>(
        &mut self,
        dialect: Dialect,
        subject: &[u8],
        pattern: &[u8],
        interrupt: &mut I,
    ) -> Result<Option<Match>, MatchError> {
        let pat = effective_pattern(dialect, pattern);
        let mut ms = MatchState::new(dialect, subject, pat, interrupt);
        let lastmatch_rule = dialect.uses_lastmatch();
        let mut src = self.src;
        while src <= subject.len() {
            let e = ms.match_here(src)?;
            if e != NO_MATCH {
                if lastmatch_rule {
                    if Some(e) != self.lastmatch {
                        self.src = e;
                        self.lastmatch = Some(e);
                        return Ok(Some(ms.to_match(src, e)));
                    }
                } else {
                    // empty match? go at least one position
                    self.src = if e == src { e + 1 } else { e };
                    return Ok(Some(ms.to_match(src, e)));
                }
            }
            src += 1;
        }
        Ok(None)
    }
}
