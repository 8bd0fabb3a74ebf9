// Every word of the kiosk's 原因待补 screen (kiosk_reason.js holds no text).
export default {
  title: "补充不满意的原因",
  sub: (level, win) => `您在${win ? `${win}号窗口` : "窗口"}的评价器上选了“${level}”，请告诉我们原因`,
  speak: "您在窗口评价器上给了差评，请选择不满意的原因，帮助我们整改。",
  submit: "提交原因",
  need: "请至少选择一项原因",
  thanks: "感谢您补充原因",
  thanksSub: "我们会认真整改，并在规定时间内回复。",
};
