//! A TCP proxy between a server and PostgreSQL that a test cuts and
//! restores, to stage the database going away.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use tokio::{net::TcpListener, sync::Mutex, task::JoinSet};

/// A TCP proxy that can be cut (every connection dropped, new ones refused)
/// and restored.
pub struct Proxy {
    /// Where clients connect.
    pub address: SocketAddr,
    cut: Arc<AtomicBool>,
    links: Arc<Mutex<JoinSet<()>>>,
}

impl Proxy {
    /// A proxy to `upstream` on a free local port.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let links = Arc::new(Mutex::new(JoinSet::new()));
        let (is_cut, all_links) = (Arc::clone(&cut), Arc::clone(&links));
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if is_cut.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                all_links.lock().await.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Self {
            address,
            cut,
            links,
        }
    }

    /// Drops every connection and refuses new ones.
    pub async fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.links.lock().await.abort_all();
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// `url` (a PostgreSQL URL) with its host and port replaced by `address`.
pub fn url_through(url: &str, address: SocketAddr) -> String {
    let host_end = url.find('@').map(|at| at + 1).unwrap();
    let path_start = host_end + url[host_end..].find('/').unwrap();
    format!("{}{}{}", &url[..host_end], address, &url[path_start..])
}
