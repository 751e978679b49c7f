"""Recorded Binance messages, byte for byte as the venue sends them: the documented examples of
binance-spot-api-docs (``web-socket-streams.md``, ``user-data-stream.md``, ``rest-api.md``) and of the
USD-M futures docs (developers.binance.com), comments removed (the docs annotate them; the wire does
not). The ``@generated`` symbols of the docs (BNBBTC, ETHBTC, LTCBTC...) are kept."""

from __future__ import annotations

# spot <symbol>@bookTicker: no event type, no time
SPOT_BOOK_TICKER = (
    b'{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}'
)
# USD-M <symbol>@bookTicker
USDM_BOOK_TICKER = (
    b'{"e":"bookTicker","u":400900217,"E":1568014460893,"T":1568014460891,"s":"BNBUSDT",'
    b'"b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}'
)
# spot <symbol>@trade
SPOT_TRADE = (
    b'{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100",'
    b'"T":1672515782136,"m":true,"M":true}'
)
# USD-M <symbol>@aggTrade
USDM_AGG_TRADE = (
    b'{"e":"aggTrade","E":123456789,"s":"BTCUSDT","a":5933014,"p":"0.001","q":"100",'
    b'"f":100,"l":105,"T":123456785,"m":true}'
)
# USD-M <symbol>@trade
USDM_TRADE = (
    b'{"e":"trade","E":1672515782136,"T":1672515782136,"s":"BTCUSDT","t":12345,"p":"0.001",'
    b'"q":"100","X":"MARKET","m":false}'
)
# spot executionReport (user-data-stream.md), an order accepted
EXECUTION_REPORT_NEW = (
    b'{"e":"executionReport","E":1499405658658,"s":"ETHBTC","c":"mUvoqJxFIILMdfAW5iGSOW","S":"BUY",'
    b'"o":"LIMIT","f":"GTC","q":"1.00000000","p":"0.10264410","P":"0.00000000","F":"0.00000000",'
    b'"g":-1,"C":"","x":"NEW","X":"NEW","r":"NONE","i":4293153,"l":"0.00000000","z":"0.00000000",'
    b'"L":"0.00000000","n":"0","N":null,"T":1499405658657,"t":-1,"v":3,"I":8641984,"w":true,'
    b'"m":false,"M":false,"O":1499405658657,"Z":"0.00000000","Y":"0.00000000","Q":"0.00000000",'
    b'"W":1499405658657,"V":"NONE"}'
)
# the same order partially filled, as a maker
EXECUTION_REPORT_TRADE = (
    b'{"e":"executionReport","E":1499405658700,"s":"ETHBTC","c":"mUvoqJxFIILMdfAW5iGSOW","S":"BUY",'
    b'"o":"LIMIT","f":"GTC","q":"1.00000000","p":"0.10264410","P":"0.00000000","F":"0.00000000",'
    b'"g":-1,"C":"","x":"TRADE","X":"PARTIALLY_FILLED","r":"NONE","i":4293153,"l":"0.40000000",'
    b'"z":"0.40000000","L":"0.10264410","n":"0.00040000","N":"ETH","T":1499405658699,"t":28457,'
    b'"I":8641990,"w":true,"m":true,"M":true,"O":1499405658657,"Z":"0.04105764","Y":"0.04105764",'
    b'"Q":"0.00000000","W":1499405658657,"V":"NONE"}'
)
# the same order canceled by a cancel request whose own id is "cancelMe1": the order's id is in C
EXECUTION_REPORT_CANCELED = (
    b'{"e":"executionReport","E":1499405659000,"s":"ETHBTC","c":"cancelMe1","S":"BUY","o":"LIMIT",'
    b'"f":"GTC","q":"1.00000000","p":"0.10264410","P":"0.00000000","F":"0.00000000","g":-1,'
    b'"C":"mUvoqJxFIILMdfAW5iGSOW","x":"CANCELED","X":"CANCELED","r":"NONE","i":4293153,'
    b'"l":"0.00000000","z":"0.40000000","L":"0.00000000","n":"0","N":null,"T":1499405658999,"t":-1,'
    b'"I":8641999,"w":false,"m":false,"M":false,"O":1499405658657,"Z":"0.04105764","Y":"0.00000000",'
    b'"Q":"0.00000000","V":"NONE"}'
)
# USD-M ORDER_TRADE_UPDATE (the futures docs' example)
ORDER_TRADE_UPDATE_NEW = (
    b'{"e":"ORDER_TRADE_UPDATE","E":1568879465651,"T":1568879465650,"o":{"s":"BTCUSDT","c":"TEST",'
    b'"S":"SELL","o":"TRAILING_STOP_MARKET","f":"GTC","q":"0.001","p":"0","ap":"0","sp":"7103.04",'
    b'"x":"NEW","X":"NEW","i":8886774,"l":"0","z":"0","L":"0","N":"USDT","n":"0","T":1568879465650,'
    b'"t":0,"b":"0","a":"9.91","m":false,"R":false,"wt":"CONTRACT_PRICE","ot":"TRAILING_STOP_MARKET",'
    b'"ps":"LONG","cp":false,"AP":"7476.89","cr":"5.0","pP":false,"si":0,"ss":0,"rp":"0",'
    b'"V":"EXPIRE_TAKER","pm":"OPPONENT","gtd":0}}'
)
ORDER_TRADE_UPDATE_TRADE = (
    b'{"e":"ORDER_TRADE_UPDATE","E":1568879465700,"T":1568879465699,"o":{"s":"BTCUSDT","c":"TEST",'
    b'"S":"SELL","o":"LIMIT","f":"GTC","q":"0.003","p":"7100","ap":"7100.5","sp":"0","x":"TRADE",'
    b'"X":"PARTIALLY_FILLED","i":8886774,"l":"0.002","z":"0.002","L":"7100.5","N":"USDT",'
    b'"n":"0.00568040","T":1568879465698,"t":698759,"b":"0","a":"0","m":false,"R":false,'
    b'"wt":"CONTRACT_PRICE","ot":"LIMIT","ps":"BOTH","cp":false,"rp":"0","pP":false,"si":0,"ss":0,'
    b'"V":"EXPIRE_TAKER","pm":"NONE","gtd":0}}'
)
LISTEN_KEY_EXPIRED = (
    b'{"e":"listenKeyExpired","E":1576653824250,'
    b'"listenKey":"WsCMN0a4KHUPTQuX6IUnqEZfB1inxmv1qR4kbf1LuEjur5VdbzqvyxqG9TSjVVxv"}'
)
SUBSCRIBE_ACK = b'{"result":null,"id":1}'

# REST: POST /api/v3/order, newOrderRespType ACK, RESULT, FULL
NEW_ORDER_ACK = (
    b'{"symbol":"BTCUSDT","orderId":28,"orderListId":-1,"clientOrderId":"6gCrw2kRUAF9CvJDGP16IP",'
    b'"transactTime":1507725176595}'
)
NEW_ORDER_RESULT = (
    b'{"symbol":"BTCUSDT","orderId":28,"orderListId":-1,"clientOrderId":"6gCrw2kRUAF9CvJDGP16IP",'
    b'"transactTime":1507725176595,"price":"0.00000000","origQty":"10.00000000",'
    b'"executedQty":"10.00000000","origQuoteOrderQty":"0.000000","cummulativeQuoteQty":"10.00000000",'
    b'"status":"FILLED","timeInForce":"GTC","type":"MARKET","side":"SELL",'
    b'"workingTime":1507725176595,"selfTradePreventionMode":"NONE"}'
)
NEW_ORDER_FULL = (
    b'{"symbol":"BTCUSDT","orderId":28,"orderListId":-1,"clientOrderId":"6gCrw2kRUAF9CvJDGP16IP",'
    b'"transactTime":1507725176595,"price":"0.00000000","origQty":"10.00000000",'
    b'"executedQty":"10.00000000","origQuoteOrderQty":"0.000000","cummulativeQuoteQty":"10.00000000",'
    b'"status":"FILLED","timeInForce":"GTC","type":"MARKET","side":"SELL",'
    b'"workingTime":1507725176595,"selfTradePreventionMode":"NONE","fills":['
    b'{"price":"4000.00000000","qty":"1.00000000","commission":"4.00000000","commissionAsset":"USDT","tradeId":56},'
    b'{"price":"3999.00000000","qty":"5.00000000","commission":"19.99500000","commissionAsset":"USDT","tradeId":57},'
    b'{"price":"3998.00000000","qty":"2.00000000","commission":"7.99600000","commissionAsset":"USDT","tradeId":58},'
    b'{"price":"3997.00000000","qty":"1.00000000","commission":"3.99700000","commissionAsset":"USDT","tradeId":59},'
    b'{"price":"3995.00000000","qty":"1.00000000","commission":"3.99500000","commissionAsset":"USDT","tradeId":60}'
    b"]}"
)
# GET /api/v3/order
QUERY_ORDER = (
    b'{"symbol":"LTCBTC","orderId":1,"orderListId":-1,"clientOrderId":"myOrder1","price":"0.1",'
    b'"origQty":"1.0","executedQty":"0.0","cummulativeQuoteQty":"0.0","status":"NEW",'
    b'"timeInForce":"GTC","type":"LIMIT","side":"BUY","stopPrice":"0.0","icebergQty":"0.0",'
    b'"time":1499827319559,"updateTime":1499827319559,"isWorking":true,"workingTime":1499827319559,'
    b'"origQuoteOrderQty":"0.000000","selfTradePreventionMode":"NONE"}'
)
# DELETE /api/v3/order
CANCEL_ORDER = (
    b'{"symbol":"LTCBTC","origClientOrderId":"myOrder1","orderId":4,"orderListId":-1,'
    b'"clientOrderId":"cancelMyOrder1","transactTime":1684804350068,"price":"2.00000000",'
    b'"origQty":"1.00000000","executedQty":"0.00000000","origQuoteOrderQty":"0.000000",'
    b'"cummulativeQuoteQty":"0.00000000","status":"CANCELED","timeInForce":"GTC","type":"LIMIT",'
    b'"side":"BUY","selfTradePreventionMode":"NONE"}'
)
# GET /fapi/v1/order
USDM_QUERY_ORDER = (
    b'{"avgPrice":"0.00000","clientOrderId":"abc","cumQuote":"0","executedQty":"0","orderId":1917641,'
    b'"origQty":"0.40","origType":"TRAILING_STOP_MARKET","price":"0","reduceOnly":false,"side":"BUY",'
    b'"positionSide":"SHORT","status":"NEW","stopPrice":"9300","closePosition":false,'
    b'"symbol":"BTCUSDT","time":1579276756075,"timeInForce":"GTC","type":"TRAILING_STOP_MARKET",'
    b'"activatePrice":"9020","priceRate":"0.3","updateTime":1579276756075,'
    b'"workingType":"CONTRACT_PRICE","priceProtect":false,"priceMatch":"NONE",'
    b'"selfTradePreventionMode":"NONE","goodTillDate":0}'
)
# GET /api/v3/myTrades
MY_TRADES = (
    b'[{"symbol":"BNBBTC","id":28457,"orderId":100234,"orderListId":-1,"price":"4.00000100",'
    b'"qty":"12.00000000","quoteQty":"48.000012","commission":"10.10000000","commissionAsset":"BNB",'
    b'"time":1499865549590,"isBuyer":true,"isMaker":false,"isBestMatch":true}]'
)
# GET /fapi/v1/userTrades
USER_TRADES = (
    b'[{"buyer":false,"commission":"-0.07819010","commissionAsset":"USDT","id":698759,"maker":false,'
    b'"orderId":25851813,"price":"7819.01","qty":"0.002","quoteQty":"15.63802",'
    b'"realizedPnl":"-0.91539999","side":"SELL","positionSide":"SHORT","symbol":"BTCUSDT",'
    b'"time":1569514978020}]'
)
ORDER_DOES_NOT_EXIST = b'{"code":-2013,"msg":"Order does not exist."}'
DUPLICATE_ORDER = b'{"code":-2010,"msg":"Duplicate order sent."}'
