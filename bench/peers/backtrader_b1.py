"""B1's peer: the same one-minute candles through backtrader (event-driven Python), with an
EMA12/26 crossover entry filtered by RSI14 and an ATR14 stop, the shape of atl's technical rules.

Usage: python3 backtrader_b1.py CANDLES.csv
Finds backtrader on BACKTRADER_PATH (a checkout) or as an installed module; exits 3 with one
line when neither is there. Prints one JSON line: candles, seconds, candles_per_s, trades.
"""
import json
import os
import sys
import time

path = os.environ.get("BACKTRADER_PATH")
if path:
    sys.path.insert(0, path)
try:
    import backtrader as bt
except ImportError:
    print("backtrader not found: set BACKTRADER_PATH to a checkout or install it", file=sys.stderr)
    sys.exit(3)


class Crossover(bt.Strategy):
    def __init__(self):
        fast = bt.ind.EMA(period=12)
        slow = bt.ind.EMA(period=26)
        self.cross = bt.ind.CrossOver(fast, slow)
        self.rsi = bt.ind.RSI(period=14)
        self.atr = bt.ind.ATR(period=14)
        self.stop = None
        self.trades = 0

    def next(self):
        price = self.data.close[0]
        if not self.position:
            if self.cross[0] > 0 and self.rsi[0] < 70:
                self.buy()
                self.stop = price - 2 * self.atr[0]
                self.trades += 1
        elif self.cross[0] < 0 or price < self.stop:
            self.close()


def main():
    if len(sys.argv) != 2:
        print("usage: backtrader_b1.py CANDLES.csv", file=sys.stderr)
        sys.exit(64)
    csv = sys.argv[1]
    with open(csv) as f:
        rows = [l for l in f if l and l[0].isdigit()]
    import datetime

    class Feed(bt.feeds.GenericCSVData):
        params = (("dtformat", lambda ms: datetime.datetime.utcfromtimestamp(int(ms) / 1000)),
                  ("datetime", 0), ("open", 1), ("high", 2), ("low", 3), ("close", 4), ("volume", 5),
                  ("openinterest", -1), ("headers", False), ("timeframe", bt.TimeFrame.Minutes))

    tmp = csv + ".bt.csv"
    with open(tmp, "w") as f:
        f.writelines(rows)
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(Feed(dataname=tmp))
    cerebro.addstrategy(Crossover)
    cerebro.broker.setcommission(commission=0.001)
    t0 = time.perf_counter()
    result = cerebro.run(preload=True, runonce=False)
    seconds = time.perf_counter() - t0
    os.remove(tmp)
    print(json.dumps({"candles": len(rows), "seconds": seconds, "candles_per_s": len(rows) / seconds,
                      "trades": result[0].trades}))


main()
