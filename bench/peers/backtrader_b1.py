"""B1's peer: the same one-minute candles through backtrader (event-driven Python), with an
EMA12/26 crossover entry filtered by RSI14 and an ATR14 stop, the shape of atl's technical rules.

Usage: python3 backtrader_b1.py CANDLES.csv
Finds backtrader in the checkout named by ATL_BACKTRADER_DIR (the folder holding the `backtrader`
package), else as an installed module; exits 3 with one line when neither is there. Runs Cerebro
in its fastest mode (preload + runonce, no observers). Prints one JSON line: candles, seconds
(cerebro.run, CSV parsing included), cpu_seconds (user + system over the same span),
candles_per_s, trades, peak_rss_mb.
"""
import datetime
import json
import os
import resource
import sys
import tempfile
import time

checkout = os.environ.get("ATL_BACKTRADER_DIR")
if checkout:
    if not os.path.isdir(os.path.join(checkout, "backtrader")):
        print(f"no backtrader package in ATL_BACKTRADER_DIR={checkout}: point it at a checkout", file=sys.stderr)
        sys.exit(3)
    sys.path.insert(0, checkout)
try:
    import backtrader as bt
except ImportError:
    print("backtrader not found: set ATL_BACKTRADER_DIR to a checkout or install it", file=sys.stderr)
    sys.exit(3)


class Crossover(bt.Strategy):
    def __init__(self):
        fast = bt.ind.EMA(period=12)
        slow = bt.ind.EMA(period=26)
        self.cross = bt.ind.CrossOver(fast, slow)
        self.rsi = bt.ind.RSI(period=14)
        self.atr = bt.ind.ATR(period=14)
        # Not `self.stop`: that is Strategy.stop(), which Cerebro calls at the end of the run.
        self.stop_price = None
        self.trades = 0

    def next(self):
        price = self.data.close[0]
        if not self.position:
            if self.cross[0] > 0 and self.rsi[0] < 70:
                self.buy()
                self.stop_price = price - 2 * self.atr[0]
                self.trades += 1
        elif self.cross[0] < 0 or price < self.stop_price:
            self.close()


def from_ms(ms):
    return datetime.datetime.fromtimestamp(int(ms) / 1000, tz=datetime.timezone.utc).replace(tzinfo=None)


class Feed(bt.feeds.GenericCSVData):
    params = (("dtformat", from_ms),
              ("datetime", 0), ("open", 1), ("high", 2), ("low", 3), ("close", 4), ("volume", 5),
              ("openinterest", -1), ("headers", False), ("timeframe", bt.TimeFrame.Minutes))


def main():
    if len(sys.argv) != 2:
        print("usage: backtrader_b1.py CANDLES.csv", file=sys.stderr)
        sys.exit(64)
    # atl's CSVs open with a comment and a header line; the feed reads bare rows.
    with open(sys.argv[1]) as f:
        rows = [line for line in f if line[:1].isdigit()]
    fd, tmp = tempfile.mkstemp(suffix=".csv")
    try:
        with os.fdopen(fd, "w") as f:
            f.writelines(rows)
        candles = len(rows)
        del rows
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.adddata(Feed(dataname=tmp))
        cerebro.addstrategy(Crossover)
        cerebro.broker.setcommission(commission=0.001)
        t0 = time.perf_counter()
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        result = cerebro.run(preload=True, runonce=True)
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        seconds = time.perf_counter() - t0
    finally:
        os.remove(tmp)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    print(json.dumps({"candles": candles, "seconds": seconds, "cpu_seconds": cpu, "candles_per_s": candles / seconds,
                      "trades": result[0].trades, "peak_rss_mb": peak_kb / 1024}))


main()
