//! Phrase lists in Japanese and English that the row contents are drawn from.

// ---------------------------------------------------------------------------
// Phrase lists

pub(super) const FAMILY_NAMES: &[(&str, &str)] = &[
    ("佐藤", "sato"),
    ("鈴木", "suzuki"),
    ("高橋", "takahashi"),
    ("田中", "tanaka"),
    ("伊藤", "ito"),
    ("渡辺", "watanabe"),
    ("山本", "yamamoto"),
    ("中村", "nakamura"),
    ("小林", "kobayashi"),
    ("加藤", "kato"),
    ("吉田", "yoshida"),
    ("山田", "yamada"),
    ("佐々木", "sasaki"),
    ("松本", "matsumoto"),
    ("井上", "inoue"),
    ("木村", "kimura"),
];

pub(super) const GIVEN_NAMES: &[(&str, &str)] = &[
    ("翔太", "shota"),
    ("蓮", "ren"),
    ("大翔", "hiroto"),
    ("陽菜", "hina"),
    ("結衣", "yui"),
    ("美咲", "misaki"),
    ("健一", "kenichi"),
    ("直樹", "naoki"),
    ("由美", "yumi"),
    ("恵子", "keiko"),
    ("拓也", "takuya"),
    ("真由美", "mayumi"),
];

pub(super) const EN_FIRST_NAMES: &[&str] = &[
    "James", "Emily", "Michael", "Sarah", "David", "Olivia", "Daniel", "Sophie",
];

pub(super) const EN_LAST_NAMES: &[&str] = &[
    "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Clark", "Lee", "Walker",
];

pub(super) const DEPARTMENTS: &[(&str, &str)] = &[
    ("営業部", "Sales"),
    ("経理部", "Finance"),
    ("人事部", "Human Resources"),
    ("開発部", "Engineering"),
    ("総務部", "General Affairs"),
    ("マーケティング部", "Marketing"),
    ("カスタマーサポート部", "Customer Support"),
    ("法務部", "Legal"),
    ("製造部", "Manufacturing"),
];

pub(super) const SYSTEMS: &[(&str, &str)] = &[
    ("メールサーバー", "the mail server"),
    ("VPN装置", "the VPN gateway"),
    ("ファイルサーバー", "the file server"),
    ("勤怠管理システム", "the attendance system"),
    ("会計システム", "the accounting system"),
    ("Active Directory", "Active Directory"),
    ("Microsoft 365", "Microsoft 365"),
    ("Salesforce", "Salesforce"),
    ("SAP", "SAP"),
    ("基幹DB", "the core database"),
    ("社内ポータル", "the intranet portal"),
    ("無線LAN", "the office Wi-Fi"),
    ("複合機", "the multifunction printer"),
    ("Teams", "Teams"),
    ("経費精算システム", "the expense system"),
];

/// (category, Japanese title, English title)
pub(super) const INCIDENT_TITLES: &[(&str, &str, &str)] = &[
    (
        "email",
        "メールサーバー応答遅延",
        "Mail server responding slowly",
    ),
    (
        "email",
        "Outlookでパスワードを繰り返し要求される",
        "Outlook keeps asking for password",
    ),
    (
        "email",
        "外部宛メールが送信できない",
        "Cannot send mail to external addresses",
    ),
    (
        "network",
        "VPN接続が頻繁に切断される",
        "VPN connection drops",
    ),
    (
        "network",
        "会議室のWi-Fiが不安定",
        "Wi-Fi unstable in meeting rooms",
    ),
    (
        "network",
        "大阪支店でネットワーク遅延",
        "Network latency at Osaka branch",
    ),
    (
        "storage",
        "共有フォルダにアクセスできない",
        "Cannot access shared drive",
    ),
    (
        "storage",
        "ファイルサーバーの容量不足",
        "File server disk usage above 90%",
    ),
    ("hardware", "ノートPCが起動しない", "Laptop does not boot"),
    (
        "hardware",
        "モニターが映らない",
        "External monitor shows no signal",
    ),
    (
        "hardware",
        "バッテリーが膨張している",
        "Laptop battery swelling",
    ),
    (
        "printer",
        "3Fの複合機で印刷できない",
        "Printer on 3F offline",
    ),
    (
        "printer",
        "スキャンしたPDFがメールで届かない",
        "Scan to email not delivered",
    ),
    (
        "account",
        "パスワードリセット依頼",
        "Password reset request",
    ),
    (
        "account",
        "多要素認証のコードが届かない",
        "MFA code not received",
    ),
    (
        "account",
        "退職者アカウントの無効化依頼",
        "Disable account of leaver",
    ),
    (
        "application",
        "会計システムのログインエラー",
        "Accounting system login error",
    ),
    (
        "application",
        "勤怠システムの表示崩れ",
        "Attendance system layout broken",
    ),
    (
        "application",
        "経費精算でPDFが添付できない",
        "Cannot attach PDF in expense claim",
    ),
    (
        "application",
        "Teams会議で音声が途切れる",
        "Audio cuts out in Teams meetings",
    ),
    (
        "database",
        "基幹DBの夜間バッチ処理遅延",
        "Nightly batch on core DB running late",
    ),
    (
        "database",
        "レポート出力がタイムアウトする",
        "Report export times out",
    ),
    (
        "security",
        "不審なメールを受信した",
        "Suspicious phishing email received",
    ),
    (
        "security",
        "SSL証明書の有効期限切れ警告",
        "SSL certificate expiring",
    ),
    (
        "security",
        "ウイルス対策ソフトの定義更新失敗",
        "Antivirus definitions failed to update",
    ),
    (
        "backup",
        "夜間バックアップジョブ失敗",
        "Backup job failed overnight",
    ),
];

pub(super) const TITLE_PREFIXES: &[&str] =
    &["【至急】", "[東京本社] ", "[Osaka] ", "【再発】", "[VIP] "];

pub(super) const INCIDENT_SENTENCES_JA: &[&str] = &[
    "本日{T}頃から{S}の応答が遅くなっています。",
    "複数の利用者から同様の問い合わせが寄せられています。",
    "端末の再起動を試しましたが改善しませんでした。",
    "画面に「{E}」というエラーメッセージが表示されます。",
    "業務への影響が大きいため、早急な対応をお願いします。",
    "ネットワーク機器のログを確認したところ、{N}件のタイムアウトが記録されていました。",
    "影響範囲は{D}の約{N}名です。",
    "暫定対応としてキャッシュを削除し、再ログインを案内しました。",
    "{H}のCPU使用率が高い状態が続いています。",
    "ベンダーへエスカレーション済みで、回答待ちです。",
    "恒久対策については問題管理で検討します。",
    "昨日のメンテナンス作業以降に発生しているようです。",
    "同じ事象が先月も{N}回発生しています。",
    "{S}のサービスは起動していますが、接続がタイムアウトします。",
    "利用者の端末はWindows 11、ブラウザはEdgeの最新版です。",
];

pub(super) const INCIDENT_SENTENCES_EN: &[&str] = &[
    "Users report that {S} has been slow since {T}.",
    "Several people in {D} raised the same issue.",
    "Restarting the client did not help.",
    "The following error is shown: \"{E}\".",
    "About {N} users in {D} are affected.",
    "Checked the switch logs and found {N} timeouts on {H}.",
    "As a workaround we cleared the cache and asked the user to sign in again.",
    "Escalated to the vendor, case #{N}.",
    "CPU usage on {H} has stayed above 90% for the last hour.",
    "It seems to have started after last night's maintenance window.",
    "A root cause analysis will follow in a problem record.",
    "This is the {N}th occurrence this quarter.",
    "The service on {H} is running but connections time out.",
];

pub(super) const CHANGE_TITLES: &[(&str, &str)] = &[
    ("OSセキュリティパッチ適用", "Apply OS security patches"),
    ("ファイアウォールルール変更", "Update firewall rules"),
    ("サーバー証明書の更新", "Renew server certificate"),
    ("ストレージ増設", "Add storage capacity"),
    ("バージョンアップ作業", "Upgrade to the latest release"),
    ("バックアップ設定の見直し", "Revise backup schedule"),
    (
        "ネットワーク機器のファームウェア更新",
        "Update network firmware",
    ),
    (
        "データベースのインデックス再構築",
        "Rebuild database indexes",
    ),
];

pub(super) const CHANGE_SENTENCES_JA: &[&str] = &[
    "作業日時は{T}から約{N}分を予定しています。",
    "作業中は{S}が一時的に利用できなくなります。",
    "事前に{D}へ影響範囲を周知します。",
    "切り戻し手順: 作業前に取得したスナップショットから{H}を復元します。",
    "検証環境で{N}件のテストケースを実施し、問題がないことを確認済みです。",
    "作業後、{S}へのログインと主要機能の動作確認を行います。",
    "CAB承認後に実施します。",
];

pub(super) const CHANGE_SENTENCES_EN: &[&str] = &[
    "The work starts at {T} and takes about {N} minutes.",
    "{S} will be unavailable during the window.",
    "{D} will be notified in advance.",
    "Rollback plan: restore {H} from the snapshot taken before the change.",
    "Tested {N} cases in staging without issues.",
    "After the change we verify sign-in and the main functions of {S}.",
    "To be implemented after CAB approval.",
];

pub(super) const ERROR_MESSAGES: &[&str] = &[
    "Connection timed out",
    "550 5.7.1 Relaying denied",
    "ORA-12541: TNS:no listener",
    "0x80070005 アクセスが拒否されました",
    "HTTP 503 Service Unavailable",
    "The trust relationship between this workstation and the primary domain failed",
    "SSL_ERROR_BAD_CERT_DOMAIN",
    "ディスク容量が不足しています",
    "認証に失敗しました。ユーザー名またはパスワードが正しくありません",
    "java.lang.OutOfMemoryError: Java heap space",
    "database is locked",
];

pub(super) const HOSTS: &[&str] = &[
    "srv-mail", "srv-file", "srv-db", "vpn-gw", "sw-core", "ap-3f", "srv-app", "srv-ad",
];

/// (Japanese, English)
pub(super) const WORK_NOTES: &[(&str, &str)] = &[
    (
        "利用者へ電話で状況を確認しました。",
        "Called the user to confirm the symptoms.",
    ),
    ("ログを取得し調査中です。", "Collected logs, investigating."),
    (
        "再起動後、正常動作を確認しました。",
        "Confirmed normal operation after reboot.",
    ),
    ("ベンダー回答待ちです。", "Waiting for the vendor's answer."),
    (
        "設定を修正し、利用者に確認を依頼しました。",
        "Fixed the settings and asked the user to verify.",
    ),
    (
        "リモートで接続して対応しました。",
        "Resolved over a remote session.",
    ),
];

/// (type, asset tag prefix, models)
pub(super) const ASSET_KINDS: &[(&str, &str, &[&str])] = &[
    (
        "laptop",
        "PC",
        &[
            "ThinkPad X1 Carbon Gen 11",
            "Dell Latitude 7440",
            "MacBook Pro 14",
        ],
    ),
    (
        "desktop",
        "DT",
        &["HP EliteDesk 800 G9", "Dell OptiPlex 7010"],
    ),
    (
        "server",
        "SV",
        &["Dell PowerEdge R750", "HPE ProLiant DL380 Gen11"],
    ),
    (
        "network",
        "NW",
        &["Cisco Catalyst 9300", "YAMAHA RTX1300", "FortiGate 100F"],
    ),
    (
        "printer",
        "PR",
        &["Canon imageRUNNER ADVANCE DX", "RICOH IM C3000"],
    ),
    ("monitor", "MN", &["EIZO FlexScan EV2795", "Dell U2723QE"]),
    ("phone", "MB", &["iPhone 15", "Galaxy S23", "AQUOS sense8"]),
];

pub(super) const LOCATIONS: &[&str] = &[
    "東京本社 12F",
    "東京本社 15F",
    "東京本社 サーバールーム",
    "大阪支店 3F",
    "名古屋営業所",
    "Singapore office",
    "Data center Tokyo-2",
    "在宅勤務",
];

pub(super) const SERIAL_CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";

pub(super) const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/124.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)",
];

pub(super) const MFA: &[&str] = &["totp", "push", "sms"];
