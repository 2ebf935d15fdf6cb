// Labels for the wallboard. Language: ?lang=zh|en, else navigator.language.
window.FW_I18N = {
  en: {
    title: "Floorwatch", alerts: "Alerts", agents: "Agents", no_alerts: "No active alerts",
    calls_waiting: "Waiting", longest_wait_s: "Longest wait", service_level: "Service level",
    asa_s: "ASA", aht_s: "AHT", abandon_rate: "Abandoned", site_total: "Site total",
    available: "Available", not_ready: "Not ready", talking: "Talking", hold: "Hold", wrap: "Wrap-up",
    ack: "Acknowledge", acked_by: "Ack by {by}", ack_sent: "Acknowledgement sent", ack_failed: "Ack failed: {detail}",
    firing: "FIRING", pending: "PENDING", warning: "warning", critical: "critical",
    data_age: "data {s} s old", no_data: "no data yet", stale: "STALE — no data for {s} s",
    connected: "live", connecting: "connecting…", reconnecting: "reconnecting in {s} s",
    bad_token: "Invalid or missing token — add ?token=… to the URL",
    break: "break", lunch: "lunch", training: "training", meeting: "meeting", coaching: "coaching",
    group_members: "{n} agents",
  },
  zh: {
    title: "现场监控", alerts: "告警", agents: "坐席", no_alerts: "暂无告警",
    calls_waiting: "排队数", longest_wait_s: "最长等待", service_level: "服务水平",
    asa_s: "平均应答", aht_s: "平均处理时长", abandon_rate: "放弃率", site_total: "全场合计",
    available: "空闲", not_ready: "未就绪", talking: "通话中", hold: "保持", wrap: "话后处理",
    ack: "确认", acked_by: "{by} 已确认", ack_sent: "确认已发送", ack_failed: "确认失败：{detail}",
    firing: "告警中", pending: "待定", warning: "警告", critical: "严重",
    data_age: "数据 {s} 秒前", no_data: "暂无数据", stale: "数据过期 — 已 {s} 秒无数据",
    connected: "实时", connecting: "连接中…", reconnecting: "{s} 秒后重连",
    bad_token: "令牌无效或缺失 — 请在网址中加上 ?token=…",
    break: "休息", lunch: "午餐", training: "培训", meeting: "会议", coaching: "辅导",
    group_members: "{n} 名坐席",
  },
};
