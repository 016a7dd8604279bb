//! Git plumbing: opening a repository as git hands it to a hook, the index file, pack files
//! and their indexes, objects, revisions.
//! Nothing here scans.

pub mod idx;
pub mod index;
pub mod large;
pub mod objects;
pub mod pack;
pub mod promisor;
pub mod repo;
pub mod revs;
#[cfg(test)]
pub(crate) mod test_git;
pub mod tree;
