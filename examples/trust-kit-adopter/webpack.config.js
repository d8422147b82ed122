module.exports = require('../../webpack.service.config.js')(__dirname);
