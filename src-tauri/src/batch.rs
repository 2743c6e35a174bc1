//! Many small results streamed to the page as a few messages.
//!
//! A Tauri channel delivers a message under 8 KB by evaluating a script in the webview that
//! carries it (one script compiled per message, `MAX_JSON_DIRECT_EXECUTE_THRESHOLD` in tauri's
//! `ipc/channel.rs`), and a bigger one by a fetch whose body the page parses as JSON. A
//! certificate check of 200 backends sent 200 scripts of ~5 KB each (issue 20); sent together
//! at most every [`EVERY`], they are a handful of messages, and the page shows them no later
//! than its next frames would have.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tauri::ipc::{Channel, IpcResponse};

/// How long a result may wait for others to go with it: about three frames, well under what
/// a person notices in a list filling up.
pub const EVERY: Duration = Duration::from_millis(50);

/// Buffers items and sends what has gathered to `channel` every [`EVERY`]; [`Batches::finish`]
/// sends the rest.
pub struct Batches<T: Serialize + Clone + Send + 'static> {
    pending: Arc<Mutex<Vec<T>>>,
    channel: Channel<Vec<T>>,
    ticker: tauri::async_runtime::JoinHandle<()>,
}

impl<T: Serialize + Clone + Send + 'static> Batches<T>
where
    Vec<T>: IpcResponse,
{
    pub fn start(channel: Channel<Vec<T>>) -> Self {
        let pending = Arc::new(Mutex::new(Vec::new()));
        let ticker = tauri::async_runtime::spawn({
            let pending = Arc::clone(&pending);
            let channel = channel.clone();
            async move {
                let mut tick = tokio::time::interval(EVERY);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    send_pending(&pending, &channel);
                }
            }
        });
        Self {
            pending,
            channel,
            ticker,
        }
    }

    pub fn push(&self, item: T) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(item);
    }

    /// Sends what is still waiting, and stops sending.
    pub fn finish(self) {
        self.ticker.abort();
        send_pending(&self.pending, &self.channel);
    }
}

impl<T: Serialize + Clone + Send + 'static> Drop for Batches<T> {
    fn drop(&mut self) {
        self.ticker.abort();
    }
}

fn send_pending<T: Serialize + Clone>(pending: &Mutex<Vec<T>>, channel: &Channel<Vec<T>>)
where
    Vec<T>: IpcResponse,
{
    // Sent under the lock: the ticker and `finish` never send two batches out of order.
    let mut pending = pending.lock().unwrap_or_else(PoisonError::into_inner);
    if !pending.is_empty() {
        // A closed view is not an error: the final answer still comes back.
        let _ = channel.send(std::mem::take(&mut *pending));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tauri::ipc::InvokeResponseBody;

    /// Each message a channel was sent, decoded.
    type Sent = Arc<Mutex<Vec<Vec<u32>>>>;

    /// A channel that records each message it is sent.
    fn recording() -> (Channel<Vec<u32>>, Sent) {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let channel = Channel::new({
            let sent = Arc::clone(&sent);
            move |body| {
                let InvokeResponseBody::Json(json) = body else {
                    panic!("a batch is sent as JSON");
                };
                sent.lock()
                    .unwrap()
                    .push(serde_json::from_str(&json).unwrap());
                Ok(())
            }
        });
        (channel, sent)
    }

    #[test]
    fn a_burst_goes_as_a_few_messages_and_finish_sends_the_rest_in_order() {
        tauri::async_runtime::block_on(async {
            let (channel, sent) = recording();
            let batches = Batches::start(channel);
            for i in 0..100 {
                batches.push(i);
            }
            // The ticker sends what gathered without waiting for the end.
            tokio::time::sleep(EVERY * 4).await;
            let before_finish = sent.lock().unwrap().len();
            assert!(before_finish >= 1, "nothing was sent before finish");
            batches.push(100);
            batches.finish();
            let sent = sent.lock().unwrap();
            let all: Vec<u32> = sent.iter().flatten().copied().collect();
            assert_eq!(all, (0..=100).collect::<Vec<_>>(), "each once, in order");
            assert!(sent.len() < 10, "{} messages for 101 items", sent.len());
            assert!(sent.iter().all(|m| !m.is_empty()), "no empty message");
        });
    }

    #[test]
    fn nothing_pushed_sends_nothing() {
        tauri::async_runtime::block_on(async {
            let (channel, sent) = recording();
            let batches = Batches::start(channel);
            tokio::time::sleep(EVERY * 2).await;
            batches.finish();
            assert!(sent.lock().unwrap().is_empty());
        });
    }
}
