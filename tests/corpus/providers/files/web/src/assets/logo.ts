export const logo = 'data:image/png;base64,iVBORw0KGgp7Q9NkVrRxhiYpRZmy9P6DqApVFF5PbEInNvJlKe/cpNQzY192bNKNuTDY57pRBhpkyVZGBCo8JwusK6G23/o1FySH9IIQOllwrRo7or4etSHsRKnZtVkgRxs=';
export const logo = 'data:image/png;base64,iVBORw0KGgorQVF2/gVoNoBsQF8sHeaep+gj+sZoJowU7kVXB8vgt4vRlVC65posZpNINlpXpP/m1IkP2idcTi5ZeL8uGanaJUVcJwow+Hx75IxrTdUu6dnA6AugBL+Yhv0=';
export const logo = 'data:image/png;base64,iVBORw0KGgphWdMI3xfeDo3imPlZFH/rnUyiK3nHTDAfMCuH/4PmgWF563ahgKVZf3iXznEQYRxiQuV1Zu4i87vXHgmC2nBtdwxUg2qP/XysT3Pcjs1vl7OINXmhu9c5D/o=';
export const logo = 'data:image/png;base64,iVBORw0KGgrIY36S//XSubiq7uSo81wBCJej/1HpR9WYa+WnNbqHVZkLaXG0zObltpshEgP6+r5BL+cBWeQWS6Ayb1upCZVwWFizgzlJH7DzYw9vg/xeb8zJoxAm2IO9d0I=';
